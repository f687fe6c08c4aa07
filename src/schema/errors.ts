import { unwrapResolverError } from "@apollo/server/errors";
import { GraphQLError, type GraphQLFormattedError } from "graphql";
import type { MiddlewareFn } from "type-graphql";
import { ErrorCode, GatewayError } from "../services/errors.js";

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

export function gatewayErrorExtensions(error: GatewayError): Record<string, unknown> {
  return {
    code: error.code,
    ...(error.field ? { field: error.field } : {}),
    ...(error.retryAfterSeconds !== undefined ? { retryAfterSeconds: error.retryAfterSeconds } : {}),
  };
}

export function toGraphQLError(error: GatewayError): GraphQLError {
  // Only a refusal of the request's size changes the HTTP status; other faults keep GraphQL's 200.
  const http = error.code === ErrorCode.PAYLOAD_TOO_LARGE ? { http: { status: 413 } } : {};
  return new GraphQLError(error.message, { originalError: error, extensions: { ...gatewayErrorExtensions(error), ...http } });
}

/** Services throw GatewayError; clients see a GraphQLError with its stable code. */
export const mapGatewayErrors: MiddlewareFn = async (_action, next) => {
  try {
    return await next();
  } catch (error) {
    if (error instanceof GatewayError) throw toGraphQLError(error);
    throw error;
  }
};

/**
 * The last word on what leaves the server: known codes pass with their message; anything else becomes
 * a bare INTERNAL_SERVER_ERROR, so no stack, path or upstream detail leaks.
 */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const original = unwrapResolverError(error);
  const base = { message: formatted.message, ...(formatted.locations ? { locations: formatted.locations } : {}), ...(formatted.path ? { path: formatted.path } : {}) };
  if (original instanceof GatewayError) {
    return { ...base, message: original.message, extensions: gatewayErrorExtensions(original) };
  }
  const code = formatted.extensions?.code;
  if (typeof code === "string" && (APOLLO_REQUEST_CODES.has(code) || code in ErrorCode)) {
    const { stacktrace: _stack, exception: _exception, ...rest } = formatted.extensions ?? {};
    return { ...base, extensions: { ...rest, code } };
  }
  return { ...base, message: "internal server error", extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } };
}
