import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from "fastify";
import type { CallSink, RequestMeta } from "../call-log/recorder.js";
import type { CallTrace } from "../call-log/call-trace.js";
import { ErrorCode } from "../errors.js";
import type { RefusalLimits } from "../limits/refusal-limits.js";
import { replyWithGraphQLError } from "./graphql-error-reply.js";

/**
 * The codes of a call refused for the client's own fault, before anything was spent. Not RATE_LIMITED
 * (a limit already counted, or the gateway's own capacity) and not the upstream's or the gateway's
 * failures, which no client chose.
 */
const CLIENT_FAULTS: ReadonlySet<string> = new Set([
  ErrorCode.BAD_USER_INPUT,
  ErrorCode.PAYLOAD_TOO_LARGE,
  ErrorCode.UNAUTHENTICATED,
  ErrorCode.REQUEST_TIMEOUT,
  "BAD_REQUEST",
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
]);

function isRefusal(trace: CallTrace): boolean {
  return trace.status === "failed" && trace.upstream.attempts === 0 && CLIENT_FAULTS.has(trace.error?.code ?? "");
}

/**
 * Counts a request with a refused call against its client's refusal budget as its lines are written,
 * whoever refused it: the service (validation, a missing token), Apollo (a document that does not
 * validate) or the HTTP layer before Apollo (the CSRF check, upload limits, a body that stalled). Once
 * per request, not per call: what a refusal costs the gateway is the request, and a client that sent
 * one operation with too many generateImages must not be locked out for it.
 */
export function countRefusals(sink: CallSink, refusals: RefusalLimits): CallSink {
  return {
    begin: (trace, meta) => sink.begin(trace, meta),
    record(traces: readonly CallTrace[], meta: RequestMeta): void {
      sink.record(traces, meta);
      if (traces.some(isRefusal)) refusals.count(meta.clientKey);
    },
  };
}

export interface RefusalGuardOptions {
  path: string;
  refusals: RefusalLimits;
  clientKeyOf: (request: FastifyRequest) => string;
  /** Writes the refused call's line, as every refusal before Apollo does. */
  onRefused: (request: FastifyRequest, code: string, message: string) => void;
  /** How the route's face answers the refusal; GraphQL JSON unless a REST face gives its own shape. */
  answer?: (reply: FastifyReply, status: number, code: string, message: string, extra: { retryAfterSeconds: number }) => FastifyReply;
}

/**
 * A client past its refusal budget has every POST to the route (GraphQL's, or a REST face's) refused with 429 and Retry-After,
 * before Apollo runs and before a multipart body is parsed. Its line is one small record with no prompt:
 * refusing costs the log little, however large the request. Registered before the multipart parser.
 */
export function registerRefusalGuard(app: FastifyInstance, options: RefusalGuardOptions): void {
  const { refusals } = options;
  if (refusals.options.perMinute === 0) return;
  const message = `Too many refused calls from this client: at most ${refusals.options.perMinute} a minute`;
  app.addHook("preValidation", (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    if (request.method !== "POST" || request.routeOptions.url !== options.path) return done();
    const retryAfterSeconds = refusals.retryAfterSeconds(options.clientKeyOf(request));
    if (retryAfterSeconds === undefined) return done();
    options.onRefused(request, ErrorCode.RATE_LIMITED, message);
    void reply.header("retry-after", String(retryAfterSeconds));
    void (options.answer ?? replyWithGraphQLError)(reply, 429, ErrorCode.RATE_LIMITED, message, { retryAfterSeconds });
  });
}
