import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";

/**
 * Fastify is given no logger of its own: with one, it builds and checks a child logger for every request,
 * even when nothing is logged, and every health probe paid for it. The HTTP layer's few lines go to the
 * app logger with the request id instead, and per-request lines exist only at debug, where this hook is
 * added; every generation has its line in the call log anyway.
 */
export function registerRequestLog(app: FastifyInstance, logger: Logger): void {
  if (!logger.isLevelEnabled("debug")) return;
  app.addHook("onResponse", (request, reply, done) => {
    logger.debug(
      { reqId: request.id, method: request.method, url: request.url, statusCode: reply.statusCode, responseTime: reply.elapsedTime },
      "request completed",
    );
    done();
  });
}
