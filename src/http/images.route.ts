import type { FastifyInstance, FastifyReply } from "fastify";
import type { Logger } from "pino";
import { GatewayError } from "../errors.js";
import type { ByteRange, ImageStore } from "../storage/image-store.js";

/**
 * One range of `bytes=…`, inclusive, clamped to the size; "unsatisfiable" when none of it exists; undefined
 * for what is served whole instead (no header, another unit, several ranges, nonsense), as RFC 9110 allows.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | "unsatisfiable" | undefined {
  const match = header === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === "" && match[2] === "")) return undefined;
  if (match[1] === "") {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (match[2] !== "" && Number(match[2]) < start) return undefined;
  if (start >= size) return "unsatisfiable";
  return { start, end };
}

function sendJsonError(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.code(status).header("content-type", "application/json; charset=utf-8").send({ error: message });
}

/**
 * Kept outputs, by content hash, from whichever store: a name never changes meaning, so caches may keep it
 * for good. With `redirect` (IMAGE_URL_MODE=presigned) the route sends the client to a fresh presigned URL
 * of the store instead, and that answer is not cached: the URL expires.
 */
export function registerImageRoute(app: FastifyInstance, store: ImageStore, logger: Logger, options: { redirect: boolean } = { redirect: false }): void {
  app.get<{ Params: { name: string } }>("/images/:name", async (request, reply) => {
    try {
      const found = await store.find(request.params.name);
      if (!found) return sendJsonError(reply, 404, "image not found");
      if (options.redirect && store.presignedUrl) {
        return reply.code(302).header("location", await store.presignedUrl(found.fileName)).header("cache-control", "no-store").send();
      }
      reply
        .header("content-type", found.mimeType)
        .header("etag", found.etag)
        .header("accept-ranges", "bytes")
        .header("cache-control", "public, max-age=31536000, immutable")
        .header("x-content-type-options", "nosniff");
      const tags = request.headers["if-none-match"];
      if (tags && tags.split(",").some((tag) => tag.trim() === found.etag || tag.trim() === "*")) {
        return reply.code(304).send();
      }
      // If-Range with another validator asks for the whole image: the part held is of something else.
      const ifRange = request.headers["if-range"];
      const range = ifRange === undefined || ifRange === found.etag ? parseRange(request.headers.range, found.bytes) : undefined;
      if (range === "unsatisfiable") {
        return reply.code(416).header("content-range", `bytes */${found.bytes}`).header("content-type", "application/json; charset=utf-8").send({ error: "range not satisfiable" });
      }
      const body = await store.open(found, range);
      // Once the headers are out, Fastify can only cut the connection: say why in the app log.
      body.once("error", (error) => logger.warn({ reqId: request.id, err: error, image: request.params.name }, "stored image could not be read"));
      if (range) {
        reply.code(206).header("content-range", `bytes ${range.start}-${range.end}/${found.bytes}`);
      }
      reply.header("content-length", range ? range.end - range.start + 1 : found.bytes);
      return reply.send(body);
    } catch (error) {
      if (!(error instanceof GatewayError)) throw error;
      logger.warn({ reqId: request.id, err: error, image: request.params.name }, error.message);
      return sendJsonError(reply.header("retry-after", "5"), 503, "the image store is unavailable; retry later");
    }
  });
}
