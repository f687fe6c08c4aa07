import { watch, type FSWatcher } from "node:fs";
import path from "node:path";

/**
 * Calls `onChange` when the configuration file is written, renamed over (as editors and config
 * management tools save) or created. Watches the folder, not the file, so a replaced file is still seen.
 */
export function watchConfigFile(file: string, onChange: () => void, debounceMs = 100): () => void {
  const dir = path.dirname(file);
  const name = path.basename(file);
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined = watch(dir, { persistent: false }, (_event, changed) => {
    if (changed !== null && changed.toString() !== name) return;
    clearTimeout(timer);
    // Saves arrive as several events (truncate, write, rename): act once they settle.
    timer = setTimeout(onChange, debounceMs);
    timer.unref();
  });
  watcher.on("error", () => undefined);
  return () => {
    clearTimeout(timer);
    watcher?.close();
    watcher = undefined;
  };
}
