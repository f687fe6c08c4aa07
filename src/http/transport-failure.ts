import type { FastifyError } from "fastify";
import { ErrorCode } from "../errors.js";
import { schemaRefusalOf } from "./schema-refusal.js";

/** A request Fastify refused before a REST face's route ran, in the terms both faces answer with. */
export interface TransportFailure {
  status: number;
  code: ErrorCode;
  message: string;
  /** The field at fault, as the request names it, when a schema found one. */
  field: string | null;
}

export interface TransportWording {
  /** What the face takes, for a body of another media type (415). */
  mediaTypes: string;
  /** How a schema refusal names the request itself, when no one field is at fault: "the body", "the form". */
  whole: string;
}

/**
 * A REST face's refusals by Fastify itself (its route schema, the JSON parser, the body limit, the media
 * type), with the same status and stable code on every face; only the wording and the error shape are the
 * face's. Anything else is the gateway's own failure, 500, and never explained to the client.
 */
export function transportFailureOf(error: FastifyError, wording: TransportWording): TransportFailure {
  const schema = schemaRefusalOf((error as FastifyError & { validation?: unknown }).validation, wording.whole);
  if (schema) return { status: 400, code: ErrorCode.BAD_USER_INPUT, message: schema.message, field: schema.field };
  const status = error.statusCode ?? 500;
  if (error.code === "FST_ERR_CTP_BODY_TOO_LARGE" || status === 413) {
    return { status: 413, code: ErrorCode.PAYLOAD_TOO_LARGE, message: "The request body is too large", field: null };
  }
  if (error.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE" || status === 415) {
    return { status: 415, code: ErrorCode.BAD_USER_INPUT, message: wording.mediaTypes, field: null };
  }
  if (status >= 400 && status < 500) {
    const message = error.code?.startsWith("FST_ERR_CTP") ? "The request body is not valid JSON" : "The request is malformed";
    return { status: 400, code: ErrorCode.BAD_USER_INPUT, message, field: null };
  }
  return { status: 500, code: ErrorCode.INTERNAL_SERVER_ERROR, message: "internal server error", field: null };
}
