import { LogController, type FastifyReply, type FastifyRequest } from "fastify";

/**
 * Per-request lines at debug, not info: two redacted lines per request cost more than a whole health
 * probe, and every generation has its line in the call log anyway. Failed requests still log at error.
 */
export class RequestLog extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ req: request }, "incoming request");
  }

  override requestCompleted(error: Error | null | undefined, _request: FastifyRequest, reply: FastifyReply): void {
    if (error) reply.log.error({ res: reply, err: error, responseTime: reply.elapsedTime }, "request errored");
    else reply.log.debug({ res: reply, responseTime: reply.elapsedTime }, "request completed");
  }
}
