/**
 * The stable error codes of the public contract (README lists them). Services throw GatewayError;
 * the GraphQL layer turns it into a GraphQLError with `extensions.code`, so services stay GraphQL-free.
 */
export const ErrorCode = {
  BAD_USER_INPUT: "BAD_USER_INPUT",
  PAYLOAD_TOO_LARGE: "PAYLOAD_TOO_LARGE",
  UNAUTHENTICATED: "UNAUTHENTICATED",
  RATE_LIMITED: "RATE_LIMITED",
  REQUEST_TIMEOUT: "REQUEST_TIMEOUT",
  UPSTREAM_UNAUTHORIZED: "UPSTREAM_UNAUTHORIZED",
  UPSTREAM_RATE_LIMITED: "UPSTREAM_RATE_LIMITED",
  UPSTREAM_BAD_REQUEST: "UPSTREAM_BAD_REQUEST",
  UPSTREAM_UNAVAILABLE: "UPSTREAM_UNAVAILABLE",
  UPSTREAM_TIMEOUT: "UPSTREAM_TIMEOUT",
  RESPONSE_TOO_LARGE: "RESPONSE_TOO_LARGE",
  INTERNAL_SERVER_ERROR: "INTERNAL_SERVER_ERROR",
  /** The call log (the record of money spent) cannot be written: no new paid call starts. */
  CALL_LOG_UNAVAILABLE: "CALL_LOG_UNAVAILABLE",
  /** The generated images could not be written to DATA_DIR (full, read-only...). */
  STORAGE_UNAVAILABLE: "STORAGE_UNAVAILABLE",
  /** The gateway is stopping: it starts no new generation. */
  SHUTTING_DOWN: "SHUTTING_DOWN",
  /** A call still running at the shutdown deadline was cut (call log only: its client is gone). */
  SHUTDOWN_INTERRUPTED: "SHUTDOWN_INTERRUPTED",
  /**
   * A generation job was cut after it had been sent to SiliconFlow (its worker died or stopped): it may
   * have run and been billed, and it is never sent again.
   */
  UPSTREAM_INTERRUPTED: "UPSTREAM_INTERRUPTED",
  /** No generation job with that id (or not one this client may see). */
  JOB_NOT_FOUND: "JOB_NOT_FOUND",
  /** The job is running or finished: only a QUEUED job can be cancelled. */
  JOB_NOT_CANCELLABLE: "JOB_NOT_CANCELLABLE",
  /** A job's error when its submitter cancelled it before it ran (nothing was sent or billed). */
  JOB_CANCELLED: "JOB_CANCELLED",
  /** The client (or the gateway as a whole) has as many generation jobs queued or running as it may. */
  TOO_MANY_JOBS: "TOO_MANY_JOBS",
  /** The store of generation jobs (Redis with BullMQ) cannot be reached: no job is submitted, read or cancelled. */
  JOBS_UNAVAILABLE: "JOBS_UNAVAILABLE",
  /** A `webhookUrl` was given to a gateway that has no WEBHOOK_SECRET to sign with. */
  WEBHOOKS_NOT_CONFIGURED: "WEBHOOKS_NOT_CONFIGURED",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const defaultHttpStatus: Record<ErrorCode, number> = {
  BAD_USER_INPUT: 400,
  PAYLOAD_TOO_LARGE: 413,
  UNAUTHENTICATED: 401,
  RATE_LIMITED: 429,
  REQUEST_TIMEOUT: 408,
  UPSTREAM_UNAUTHORIZED: 502,
  UPSTREAM_RATE_LIMITED: 429,
  UPSTREAM_BAD_REQUEST: 502,
  UPSTREAM_UNAVAILABLE: 502,
  UPSTREAM_TIMEOUT: 504,
  // Only ever a field's error in a 200 GraphQL answer; the status is for completeness.
  RESPONSE_TOO_LARGE: 413,
  INTERNAL_SERVER_ERROR: 500,
  CALL_LOG_UNAVAILABLE: 503,
  STORAGE_UNAVAILABLE: 503,
  SHUTTING_DOWN: 503,
  SHUTDOWN_INTERRUPTED: 503,
  UPSTREAM_INTERRUPTED: 502,
  JOB_NOT_FOUND: 404,
  JOB_NOT_CANCELLABLE: 409,
  JOB_CANCELLED: 409,
  WEBHOOKS_NOT_CONFIGURED: 400,
  TOO_MANY_JOBS: 429,
  JOBS_UNAVAILABLE: 503,
};

/**
 * What SiliconFlow did, on an error that comes from it: decisions (health, metrics) read these facts,
 * never the message. `answered` means an HTTP answer came back (any status, or a body that could not be
 * used); `unreachable` that nothing did (refused, reset, timed out).
 */
export interface UpstreamFacts {
  kind: "answered" | "unreachable";
  /** The HTTP status SiliconFlow answered, when it answered. */
  status?: number;
}

/**
 * Codes whose status is the response's: the gateway as a whole cannot serve the call (too large, or
 * unable to keep its records), which a load balancer or client should see without reading the body.
 * Other errors keep GraphQL's 200 beside whatever data the request did get.
 */
const decidesHttpStatus = new Set<ErrorCode>(["PAYLOAD_TOO_LARGE", "CALL_LOG_UNAVAILABLE", "STORAGE_UNAVAILABLE", "SHUTTING_DOWN", "JOBS_UNAVAILABLE"]);

export interface GatewayErrorOptions {
  /** The input field at fault, e.g. `input.batchSize` or `input.images[1]`. */
  field?: string;
  retryAfterSeconds?: number;
  /** HTTP status when this error alone decides the response (upload refusals before execution). */
  httpStatus?: number;
  upstream?: UpstreamFacts;
  cause?: unknown;
}

export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly field?: string;
  readonly retryAfterSeconds?: number;
  readonly httpStatus: number;
  readonly upstream?: UpstreamFacts;

  constructor(code: ErrorCode, message: string, options: GatewayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "GatewayError";
    this.code = code;
    this.field = options.field;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.httpStatus = options.httpStatus ?? defaultHttpStatus[code];
    this.upstream = options.upstream;
  }

  /**
   * What a client sees beside the message. graphql-js copies an original error's `extensions` onto the
   * GraphQLError it wraps it in, so no per-field wrapping is needed; `http` sets the response status and
   * is not shown (only the codes of `decidesHttpStatus` change it from GraphQL's 200).
   */
  get extensions(): Record<string, unknown> {
    return {
      code: this.code,
      ...(this.field ? { field: this.field } : {}),
      ...(this.retryAfterSeconds !== undefined ? { retryAfterSeconds: this.retryAfterSeconds } : {}),
      ...(decidesHttpStatus.has(this.code) ? { http: { status: this.httpStatus } } : {}),
    };
  }
}

/** A thrown value as the error a client sees: a GatewayError as it is, anything else the gateway's own fault. */
export function asGatewayError(error: unknown): GatewayError {
  return error instanceof GatewayError ? error : new GatewayError(ErrorCode.INTERNAL_SERVER_ERROR, "the gateway failed unexpectedly", { cause: error });
}

export function badInput(field: string, message: string): GatewayError {
  return new GatewayError(ErrorCode.BAD_USER_INPUT, message, { field });
}
