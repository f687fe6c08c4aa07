import type { FastifyReply } from "fastify";
import type { GatewayError } from "../../errors.js";
import { MESSAGE_MAX_CHARS, truncateText } from "../../observability/truncate.js";

/** Where the fault lies, in the REST face's own names: a form field, and for a file its place among `images`. */
export interface FormField {
  field: string | null;
  index?: number;
}

export interface RestErrorExtra extends Partial<FormField> {
  retryAfterSeconds?: number;
}

/**
 * The REST face's error: `{"error": {"code", "message", "field"}}`, with the stable code a GraphQL client
 * reads from `extensions.code`, the form field at fault (`null` when none is), `index` for one file of
 * `images`, and `retry_after_seconds` beside the Retry-After header. Never a stack or a server path.
 */
export function restErrorBody(code: string, message: string, extra: RestErrorExtra = {}): { error: Record<string, unknown> } {
  return {
    error: {
      code,
      message: truncateText(message, MESSAGE_MAX_CHARS),
      field: extra.field ?? null,
      ...(extra.index !== undefined ? { index: extra.index } : {}),
      ...(extra.retryAfterSeconds !== undefined ? { retry_after_seconds: extra.retryAfterSeconds } : {}),
    },
  };
}

/** Sends the REST face's error with its status, and Retry-After when there is a time to wait. */
export function replyWithRestError(reply: FastifyReply, status: number, code: string, message: string, extra: RestErrorExtra = {}): FastifyReply {
  if (extra.retryAfterSeconds !== undefined) void reply.header("retry-after", String(extra.retryAfterSeconds));
  return reply.code(status).header("content-type", "application/json; charset=utf-8").send(restErrorBody(code, message, extra));
}

/** A GatewayError from the service, with its own status, as the REST face answers it. */
export function replyWithGatewayError(reply: FastifyReply, error: GatewayError): FastifyReply {
  return replyWithRestError(reply, error.httpStatus, error.code, error.message, { ...formFieldOf(error.field), retryAfterSeconds: error.retryAfterSeconds });
}

const SNAKE = /[A-Z]/g;

/**
 * The service names the input as the GraphQL face spells it (`input.imageSize`, `input.images[1]`); this
 * face's clients know the form's snake_case names (`image_size`, `images` with `index` 1).
 */
export function formFieldOf(field: string | undefined): FormField {
  if (field === undefined) return { field: null };
  const bare = field.startsWith("input.") ? field.slice("input.".length) : field;
  const indexed = /^([A-Za-z_]\w*)\[(\d+)\]$/.exec(bare);
  const name = (indexed ? indexed[1]! : bare).replace(SNAKE, (letter) => `_${letter.toLowerCase()}`);
  return indexed ? { field: name, index: Number(indexed[2]) } : { field: name };
}
