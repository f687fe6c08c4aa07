import { existsSync } from "node:fs";
import { chromium, type Browser, type BrowserContext } from "playwright-core";

/** Debian's chromium, which .ci/run installs; playwright's own browser downloads are not used. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/**
 * Flags for a container without a GPU or a user namespace sandbox, and for a browser that makes no
 * traffic of its own (component updates, sync, QUIC probes), so the only requests are the page's.
 */
export const CHROMIUM_ARGS = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** CI sets REQUIRE_BROWSER=1: there a missing browser is a failure, not a skip. */
export const browserRequired = process.env.REQUIRE_BROWSER === "1";
export const browserPresent = existsSync(CHROMIUM_PATH);

/** For `describe.skipIf(skipBrowserTests)`: skip locally without Chromium, never in CI. */
export const skipBrowserTests = !browserPresent && !browserRequired;

export async function launchChromium(): Promise<Browser> {
  if (!browserPresent) {
    throw new Error(
      `No Chromium at ${CHROMIUM_PATH}, and REQUIRE_BROWSER=1 says browser tests must run: ` +
        "install it with `apt-get install -y --no-install-recommends chromium` (or set CHROMIUM_PATH).",
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}

export function isLoopback(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return false;
  }
  return host === "127.0.0.1" || host === "localhost" || host === "[::1]";
}

/** Schemes that never touch the network. */
const LOCAL_SCHEMES = new Set(["data:", "blob:", "about:"]);

export interface NetworkLog {
  /** Every request and WebSocket the context's pages, frames and workers opened, in order. */
  urls: string[];
  /** Those that would leave the machine. */
  external(): string[];
}

/**
 * Records every request of the context, and aborts any that would leave the machine, so a stray
 * fetch fails fast (CI may be offline) and is still reported.
 */
export async function recordNetwork(context: BrowserContext): Promise<NetworkLog> {
  const urls: string[] = [];
  const leaves = (url: string): boolean => {
    try {
      return !LOCAL_SCHEMES.has(new URL(url).protocol) && !isLoopback(url);
    } catch {
      return true;
    }
  };
  context.on("request", (request) => urls.push(request.url()));
  context.on("page", (page) => page.on("websocket", (socket) => urls.push(socket.url())));
  await context.route("**/*", (route) => (leaves(route.request().url()) ? route.abort("blockedbyclient") : route.continue()));
  return { urls, external: () => urls.filter(leaves) };
}
