import type { FastifyReply } from "fastify";
import { asGatewayError, ErrorCode } from "../../errors.js";

/** OpenAI's error body: what its SDKs parse into `APIError.message`, `.type`, `.param` and `.code`. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string };
}

export interface OpenAIFailure {
  status: number;
  /** The gateway's stable code (README), sent as OpenAI's `code`. */
  code: string;
  message: string;
  /** The request field at fault, in this face's own names (`prompt`, `n`, `size`, `image[1]`). */
  param: string | null;
  retryAfterSeconds?: number;
}

/** The service names fields by the GraphQL input; this face's clients know them by OpenAI's (and SiliconFlow's) names. */
const PARAM_OF_FIELD: Readonly<Record<string, string>> = {
  "input.model": "model",
  "input.prompt": "prompt",
  "input.negativePrompt": "negative_prompt",
  "input.imageSize": "size",
  "input.batchSize": "n",
  "input.seed": "seed",
  "input.numInferenceSteps": "num_inference_steps",
  "input.guidanceScale": "guidance_scale",
  "input.cfg": "cfg",
  "input.images": "image",
};

export function paramOfField(field: string | undefined): string | null {
  if (!field) return null;
  const image = /^input\.images\[(\d+)\]$/.exec(field);
  if (image) return `image[${image[1]}]`;
  return PARAM_OF_FIELD[field] ?? field;
}

/** OpenAI's `type`, by status: its SDKs pick their error class by the status, the type is for people. */
function typeOf(status: number): string {
  if (status === 401) return "authentication_error";
  if (status === 429) return "rate_limit_error";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}

/** What the service threw, as this face reports it: the GatewayError's own status, code and facts. */
export function failureOf(thrown: unknown): OpenAIFailure {
  const error = asGatewayError(thrown);
  return {
    status: error.httpStatus,
    code: error.code,
    // Never the cause: an unexpected error's text may name a path or a host.
    message: error.code === ErrorCode.INTERNAL_SERVER_ERROR ? "the gateway failed unexpectedly" : error.message,
    param: paramOfField(error.field),
    retryAfterSeconds: error.retryAfterSeconds,
  };
}

export function openAIErrorBody(failure: OpenAIFailure): OpenAIErrorBody {
  return { error: { message: failure.message, type: typeOf(failure.status), param: failure.param, code: failure.code } };
}

export function replyWithOpenAIError(reply: FastifyReply, failure: OpenAIFailure): FastifyReply {
  if (failure.retryAfterSeconds !== undefined) void reply.header("retry-after", String(failure.retryAfterSeconds));
  return reply.code(failure.status).header("content-type", "application/json; charset=utf-8").send(openAIErrorBody(failure));
}
