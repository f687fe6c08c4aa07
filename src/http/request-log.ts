import { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from "fastify";

/**
 * Per-request lines at debug, not info: two redacted lines per request cost more than a whole health
 * probe, and every generation has its line in the call log anyway. Failed requests still log at error.
 */
export class RequestLog extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ reqId: request.id, req: request }, "incoming request");
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) reply.log.error({ reqId: request.id, res: reply, err: error, responseTime: reply.elapsedTime }, "request errored");
    else reply.log.debug({ reqId: request.id, res: reply, responseTime: reply.elapsedTime }, "request completed");
  }
}

/**
 * Fastify makes a child logger per request only to bind its id; the few lines that need the id name it
 * themselves, so every request shares the one logger instead of allocating and formatting a child.
 */
export function sharedRequestLogger(logger: FastifyBaseLogger): FastifyBaseLogger {
  return logger;
}
