import { existsSync } from "node:fs";
import path from "node:path";
import fastifyStatic, { type SetHeadersResponse } from "@fastify/static";
import type { FastifyInstance } from "fastify";
import { PACKAGE_ROOT } from "../version.js";

/** Where `npm run build:web` writes the page. */
export const WEB_DIST_DIR = path.join(PACKAGE_ROOT, "web", "dist");

export interface WebAppOptions {
  /** The built page: a folder with index.html and assets/. */
  root?: string;
}

// The page loads nothing from elsewhere; output images may come from a configured public URL on another host.
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data: https: http:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const NOT_BUILT = [
  "The web page has not been built.",
  "",
  "Run `npm run build` (or `npm run build:web`), then restart the gateway.",
  "The GraphQL API is at /graphql.",
  "",
].join("\n");

function setHeaders(root: string) {
  const assets = path.join(root, "assets") + path.sep;
  return (res: SetHeadersResponse, file: string): void => {
    res.setHeader("x-content-type-options", "nosniff");
    if (file.startsWith(assets)) {
      // Vite names every asset by its content hash: a name never changes meaning.
      res.setHeader("cache-control", "public, max-age=31536000, immutable");
      return;
    }
    // index.html names the current assets, so it must be revalidated (cheaply, by ETag) on every load.
    res.setHeader("cache-control", "no-cache");
    if (file.endsWith(".html")) {
      res.setHeader("content-security-policy", CONTENT_SECURITY_POLICY);
      res.setHeader("referrer-policy", "no-referrer");
    }
  };
}

/**
 * Serves the built page at `/`. Only the files present at start-up get routes (`wildcard: false`), so
 * the page can never shadow `/graphql`, `/images/*` or the probes. Without a build, `/` says how to
 * make one instead of failing.
 */
export function registerWebApp(fastify: FastifyInstance, { root = WEB_DIST_DIR }: WebAppOptions = {}): void {
  if (!existsSync(path.join(root, "index.html"))) {
    fastify.get("/", async (_request, reply) =>
      reply.code(503).header("content-type", "text/plain; charset=utf-8").header("cache-control", "no-store").send(NOT_BUILT),
    );
    return;
  }
  // Not awaited: Fastify loads plugins in order before it listens, and reports their errors there.
  void fastify.register(fastifyStatic, {
    root,
    prefix: "/",
    wildcard: false,
    index: ["index.html"],
    // Another plugin (the playground) may serve files too; only one may own reply.sendFile.
    decorateReply: false,
    serveDotFiles: false,
    redirect: false,
    cacheControl: false,
    etag: true,
    lastModified: true,
    setHeaders: setHeaders(root),
  });
}
