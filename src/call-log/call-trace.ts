import type { GenerationParams } from "../models/generation-rules.js";
import type { UpstreamTrace } from "../upstream/siliconflow-client.js";

/** Who generates: SiliconFlow, or the built-in simulator when no key is set. */
export const Provider = { SILICONFLOW: "SILICONFLOW", SIMULATOR: "SIMULATOR" } as const;
export type Provider = (typeof Provider)[keyof typeof Provider];
/** `jobQueue`: how long a generation job waited in the queue, from its submission until a worker took it. */
export type Phase = "upload" | "preprocess" | "queue" | "upstream" | "download" | "store" | "jobQueue";

/** Which face of the gateway a call came through; every face runs the same pipeline and writes the same line. */
export const Api = { GRAPHQL: "graphql", OPENAI: "openai", REST: "rest" } as const;
export type Api = (typeof Api)[keyof typeof Api];

export interface ImageTrace {
  index: number;
  /** First 100 characters of the base64 of the bytes as sent upstream (inputs) or received (outputs). */
  base64Preview: string;
  width: number;
  height: number;
  mimeType: string;
  bytes: number;
  url?: string;
  upstreamUrl?: string;
  sourceFormat?: string;
  /** Bytes as uploaded, before any conversion. */
  sourceBytes?: number;
  transformed?: boolean;
}

/**
 * Everything one call learns about itself: opened by the request's CallBook, filled with facts by the
 * generation service as it goes, ended once by `finishCall`, and written by the recorder when the response
 * leaves. It holds no full image and no full key.
 */
export interface CallTrace {
  callId: string;
  /** Epoch ms of the call's start (the log's timestamp). */
  startedAt: number;
  apiKeyMasked: string;
  provider: Provider;
  params: GenerationParams | null;
  inputs: ImageTrace[];
  outputs: ImageTrace[];
  phases: Partial<Record<Phase, number>>;
  upstream: UpstreamTrace;
  upstreamTimings: Record<string, number>;
  seedUsed: number | null;
  status: "pending" | "success" | "failed";
  /** `cause` is for the application log only; the call log carries the code and the message. */
  error: CallFailure | null;
  cacheHit: boolean;
  /** Where in the operation the call sits (alias or field name), to match it with its result. */
  responseKey?: string;
  api: Api;
  /** The generation job the call runs for; absent for a call answered in its own request. */
  jobId?: string;
}

export interface CallFailure {
  code: string;
  message: string;
  cause?: unknown;
}

/**
 * Ends a call: success without a failure, failed with one. With `cutCall`, the only place a call's status
 * is set, and only once: a call already ended (cut at shutdown, say) keeps the end its line was written with.
 * Returns whether this ended it.
 */
export function finishCall(trace: CallTrace, failure?: CallFailure): boolean {
  if (trace.status !== "pending") return false;
  trace.status = failure ? "failed" : "success";
  trace.error = failure ? { code: failure.code, message: failure.message, cause: failure.cause } : null;
  return true;
}

/**
 * Ends a call whose response will never be sent (the shutdown cuts its connection), whatever it reached:
 * a call that had finished but whose request still had others running is cut as well, since its client
 * never learns its result. Its line is written next, once; an outcome arriving later changes nothing.
 */
export function cutCall(trace: CallTrace, failure: CallFailure): void {
  trace.status = "failed";
  trace.error = { code: failure.code, message: failure.message, cause: failure.cause };
}

export function newCallTrace(init: Pick<CallTrace, "callId" | "startedAt" | "apiKeyMasked" | "provider"> & { api?: Api }): CallTrace {
  return {
    ...init,
    api: init.api ?? Api.GRAPHQL,
    params: null,
    inputs: [],
    outputs: [],
    phases: {},
    upstream: { attempts: 0 },
    upstreamTimings: {},
    seedUsed: null,
    status: "pending",
    error: null,
    cacheHit: false,
  };
}
