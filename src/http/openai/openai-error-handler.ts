import type { FastifyError, FastifyInstance, FastifyRequest } from "fastify";
import type { Logger } from "pino";
import { ErrorCode } from "../../errors.js";
import { truncateText } from "../../observability/truncate.js";
import { transportFailureOf } from "../transport-failure.js";
import { replyWithOpenAIError, type OpenAIFailure } from "./openai-error.js";

const WORDING = { mediaTypes: "Send generations as application/json and edits as multipart/form-data", whole: "the body" };

/** A refusal Fastify made before the route ran, in OpenAI's terms; a form's own refusals are the form reader's. */
export function failureOfFastifyError(error: FastifyError): OpenAIFailure {
  const failure = transportFailureOf(error, WORDING);
  return { status: failure.status, code: failure.code, param: failure.field, message: failure.message };
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
