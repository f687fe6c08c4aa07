import { unwrapResolverError } from "@apollo/server/errors";
import type { GraphQLFormattedError } from "graphql";
import { MESSAGE_MAX_CHARS, truncateText } from "../observability/truncate.js";
import { ErrorCode, GatewayError } from "../errors.js";

/** Codes Apollo itself gives to requests it cannot run; their messages hold nothing private. */
const APOLLO_REQUEST_CODES = new Set([
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "BAD_USER_INPUT",
  "BAD_REQUEST",
  "OPERATION_RESOLUTION_FAILURE",
  "PERSISTED_QUERY_NOT_FOUND",
  "PERSISTED_QUERY_NOT_SUPPORTED",
]);

/**
 * The last word on what leaves the server: known codes pass with their message; anything else becomes
 * a bare INTERNAL_SERVER_ERROR, so no stack, path or upstream detail leaks.
 */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const original = unwrapResolverError(error);
  // graphql-js quotes a wrongly typed variable whole in its message ("got invalid value { prompt: … }").
  const base = { message: truncateText(formatted.message, MESSAGE_MAX_CHARS), ...(formatted.locations ? { locations: formatted.locations } : {}), ...(formatted.path ? { path: formatted.path } : {}) };
  if (original instanceof GatewayError) {
    const { http: _http, ...extensions } = original.extensions;
    return { ...base, message: truncateText(original.message, MESSAGE_MAX_CHARS), extensions };
  }
  const code = formatted.extensions?.code;
  // Apollo gives INTERNAL_SERVER_ERROR to any plain Error a resolver throws: its message is never the client's.
  if (typeof code === "string" && code !== ErrorCode.INTERNAL_SERVER_ERROR && (APOLLO_REQUEST_CODES.has(code) || code in ErrorCode)) {
    const { stacktrace: _stack, exception: _exception, ...rest } = formatted.extensions ?? {};
    return { ...base, extensions: { ...rest, code } };
  }
  return { ...base, message: "internal server error", extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } };
}
