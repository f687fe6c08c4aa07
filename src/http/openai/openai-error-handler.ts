import type { FastifyError, FastifyInstance, FastifyRequest } from "fastify";
import type { Logger } from "pino";
import { ErrorCode } from "../../errors.js";
import { truncateText } from "../../observability/truncate.js";
import { schemaRefusalOf } from "../schema-refusal.js";
import { replyWithOpenAIError, type OpenAIFailure } from "./openai-error.js";

/**
 * A refusal Fastify made before the route ran (a schema, the JSON parser, the body limit), in OpenAI's terms;
 * a form's own refusals are the form reader's.
 */
export function failureOfFastifyError(error: FastifyError): OpenAIFailure {
  const schema = schemaRefusalOf((error as FastifyError & { validation?: unknown }).validation, "the body");
  if (schema) return { status: 400, code: ErrorCode.BAD_USER_INPUT, param: schema.field, message: schema.message };
  const status = error.statusCode ?? 500;
  if (error.code === "FST_ERR_CTP_BODY_TOO_LARGE" || status === 413) {
    return { status: 413, code: ErrorCode.PAYLOAD_TOO_LARGE, param: null, message: "the request body is too large" };
  }
  if (error.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE" || status === 415) {
    return { status: 415, code: ErrorCode.BAD_USER_INPUT, param: null, message: "Send generations as application/json and edits as multipart/form-data" };
  }
  if (status >= 400 && status < 500) {
    const message = error.code?.startsWith("FST_ERR_CTP") ? "the request body is not valid JSON" : "the request is malformed";
    return { status: 400, code: ErrorCode.BAD_USER_INPUT, param: null, message };
  }
  return { status: 500, code: ErrorCode.INTERNAL_SERVER_ERROR, param: null, message: "internal server error" };
}

export interface OpenAIErrorHandlerOptions {
  logger: Logger;
  /** A request whose call was refused here: its line is written (the route never ran, so nothing else writes it). */
  onRefused: (request: FastifyRequest, code: string, message: string) => void;
}

/**
 * Every error the face's scope meets before its routes run, answered in OpenAI's shape, never as a page
 * or a stack; a refused image call still gets its failed line.
 */
export function registerOpenAIErrorHandler(scope: FastifyInstance, options: OpenAIErrorHandlerOptions): void {
  scope.setErrorHandler((error: FastifyError, request, reply) => {
    const failure = failureOfFastifyError(error);
    if (failure.status >= 500) options.logger.error({ reqId: request.id, err: error }, "unhandled error");
    options.onRefused(request, failure.code, failure.message);
    return replyWithOpenAIError(reply, failure);
  });
  scope.setNotFoundHandler((request, reply) =>
    replyWithOpenAIError(reply, { status: 404, code: ErrorCode.BAD_USER_INPUT, param: null, message: `No route ${request.method} ${truncateText(request.url, 200)}` }),
  );
}
