import { createReadStream } from "node:fs";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { ImageStore } from "../storage/image-store.js";

/** Kept outputs, by content hash: a name never changes meaning, so caches may keep it for good. */
export function registerImageRoute(app: FastifyInstance, store: ImageStore, logger: Logger): void {
  app.get<{ Params: { name: string } }>("/images/:name", async (request, reply) => {
    const found = await store.find(request.params.name);
    if (!found) {
      return reply.code(404).header("content-type", "application/json; charset=utf-8").send({ error: "image not found" });
    }
    reply
      .header("content-type", found.mimeType)
      .header("etag", found.etag)
      .header("cache-control", "public, max-age=31536000, immutable")
      .header("x-content-type-options", "nosniff");
    const tags = request.headers["if-none-match"];
    if (tags && tags.split(",").some((tag) => tag.trim() === found.etag || tag.trim() === "*")) {
      return reply.code(304).send();
    }
    reply.header("content-length", found.bytes);
    const file = createReadStream(found.path);
    // Once the headers are out, Fastify can only cut the connection: say why in the app log.
    file.once("error", (error) => logger.warn({ reqId: request.id, err: error, image: request.params.name }, "stored image could not be read"));
    return reply.send(file);
  });
}
