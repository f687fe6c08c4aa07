import type { FastifyError, FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { ErrorCode } from "../errors.js";
import { replyWithGraphQLError } from "./graphql-error-reply.js";

/**
 * Whatever goes wrong below Apollo (a body that is not JSON, one too large, an unknown content type)
 * answers as GraphQL JSON with a stable code: never an HTML page, a stack or a server path.
 */
export function registerErrorHandlers(app: FastifyInstance, logger: Logger): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode ?? 500;
    if (error.code === "FST_ERR_CTP_BODY_TOO_LARGE" || status === 413) {
      return replyWithGraphQLError(reply, 413, ErrorCode.PAYLOAD_TOO_LARGE, "The request body is too large");
    }
    if (error.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE" || status === 415) {
      return replyWithGraphQLError(reply, 415, "BAD_REQUEST", "Send GraphQL as application/json, or uploads as multipart/form-data");
    }
    if (status >= 400 && status < 500) {
      const message = error.code?.startsWith("FST_ERR_CTP") ? "The request body is not valid JSON" : "The request is malformed";
      return replyWithGraphQLError(reply, status, ErrorCode.BAD_USER_INPUT, message);
    }
    logger.error({ reqId: request.id, err: error }, "unhandled error");
    return replyWithGraphQLError(reply, 500, ErrorCode.INTERNAL_SERVER_ERROR, "internal server error");
  });
  app.setNotFoundHandler((_request, reply) =>
    reply.code(404).header("content-type", "application/json; charset=utf-8").send({ error: "not found" }),
  );
}
