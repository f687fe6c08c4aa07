import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { WEB_DIST_DIR } from "../../src/http/web-app.js";

const WEB_DIR = path.join(path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../.."), "web");

function newestMtime(entry: string): number {
  if (!existsSync(entry)) return 0;
  const stat = statSync(entry);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(entry).map((name) => newestMtime(path.join(entry, name))));
}

/**
 * CI builds the page with `npm run build` first; a local run builds it here when it is missing or older
 * than its sources, so a test never drives a stale page. It must exist before the gateway starts:
 * the gateway routes the files it finds at start-up.
 */
export async function ensureWebBuilt(): Promise<void> {
  const index = path.join(WEB_DIST_DIR, "index.html");
  const sources = ["src", "public", "index.html", "vite.config.ts"].map((name) => newestMtime(path.join(WEB_DIR, name)));
  if (existsSync(index) && statSync(index).mtimeMs >= Math.max(...sources)) return;
  const { build } = await import("vite");
  await build({ configFile: path.join(WEB_DIR, "vite.config.ts"), logLevel: "warn" });
}
