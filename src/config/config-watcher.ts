import { readFileSync, watch, type FSWatcher } from "node:fs";
import path from "node:path";

function contentOf(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

/**
 * Calls `onChange` when what the configuration file says changes: written in place, renamed over (as
 * editors and config management tools save), created, removed, or replaced the way Kubernetes updates a
 * mounted ConfigMap. There the file is a symlink into `..data`, itself a symlink to a timestamped folder
 * that is swapped atomically: the events name `..data`, never the file. So any event in the folder leads
 * to reading the file through its links, and only a different content counts as a change.
 */
export function watchConfigFile(file: string, onChange: () => void, debounceMs = 100): () => void {
  let last = contentOf(file);
  let timer: NodeJS.Timeout | undefined;
  const check = (): void => {
    const now = contentOf(file);
    if (now === last) return;
    last = now;
    onChange();
  };
  let watcher: FSWatcher | undefined = watch(path.dirname(file), { persistent: false }, () => {
    clearTimeout(timer);
    // Saves arrive as several events (truncate, write, rename): act once they settle.
    timer = setTimeout(check, debounceMs);
    timer.unref();
  });
  watcher.on("error", () => undefined);
  return () => {
    clearTimeout(timer);
    watcher?.close();
    watcher = undefined;
  };
}
