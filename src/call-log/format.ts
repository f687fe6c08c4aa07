import type { CallTrace, ImageTrace } from "./call-trace.js";
import type { ErrorCode } from "../errors.js";
import { emptyTiming, formatDecimalString, type CallLogRecord, type InputImageEntry, type OutputImageEntry } from "./record.js";
import { redactSecrets } from "../observability/mask.js";
import { MESSAGE_MAX_CHARS, SHORT_FIELD_MAX_CHARS, truncateScrubbed } from "../observability/truncate.js";

export interface CallLogMeta {
  totalMs: number;
  requestId: string;
  operationName: string | null;
  clientIp: string | null;
  gatewayVersion: string;
  /** Which replica wrote the line (REPLICA_ID, else the hostname). */
  replica: string;
}

/**
 * How a line treats the strings a client chose: secrets typed into them are masked as the key is, and
 * each is cut past its limit with `…[truncated, N chars]`, so a refusal cannot grow the log by a megabyte.
 */
export interface ClientTextPolicy {
  /** Prompt and negative prompt: MAX_PROMPT_LENGTH, so any prompt the gateway accepts is logged whole. */
  maxPromptChars: number;
  /** Masked wherever they appear (the SiliconFlow key, the client tokens), besides `sk-…` and `Bearer …`. */
  secrets: readonly string[];
}

function clientText(value: string | null | undefined, max: number, policy: ClientTextPolicy): string | null {
  // Masked before it is cut, so a key straddling the cut is still recognised whole.
  return value == null ? null : truncateScrubbed(value, redactSecrets(value, policy.secrets), max);
}

/** What inputs and outputs both record, in the contract's order. */
function imageEntry(image: ImageTrace): Omit<InputImageEntry, "source_format" | "converted"> {
  return { index: image.index, base64_preview: image.base64Preview, size: [image.width, image.height], mime_type: image.mimeType, bytes: image.bytes };
}

function inputEntry(image: ImageTrace): InputImageEntry {
  return { ...imageEntry(image), source_format: image.sourceFormat, converted: image.transformed };
}

function outputEntry(image: ImageTrace): OutputImageEntry {
  return { ...imageEntry(image), url: image.url ?? "", upstream_url: image.upstreamUrl ?? null };
}

const round3 = (n: number): number => Math.round(n * 1000) / 1000;

/** A call as the log's contract spells it (docs/call-log.md), plus the extras. */
export function toCallLogRecord(trace: CallTrace, meta: CallLogMeta, policy: ClientTextPolicy): CallLogRecord {
  const p = trace.params;
  const text = (value: string | null | undefined, max: number): string | null => clientText(value, max, policy);
  const timing = emptyTiming();
  for (const [key, value] of Object.entries(trace.upstreamTimings)) timing[key] = value;
  timing.upload_ms = trace.phases.upload ?? null;
  timing.preprocess_ms = trace.phases.preprocess ?? null;
  timing.upstream_ms = trace.phases.upstream ?? null;
  timing.download_ms = trace.phases.download ?? null;
  timing.store_ms = trace.phases.store ?? null;
  // Extra: time spent waiting for an upstream slot (SILICONFLOW_MAX_CONCURRENCY).
  if (trace.phases.queue !== undefined) timing.queue_ms = trace.phases.queue;
  // Extra, for a generation job: time from its submission until a worker took it.
  if (trace.phases.jobQueue !== undefined) timing.job_queue_ms = trace.phases.jobQueue;
  const failed = trace.status !== "success";
  return {
    timestamp: new Date(trace.startedAt).toISOString(),
    call_id: trace.callId,
    api_key: trace.apiKeyMasked,
    model: text(p?.model, SHORT_FIELD_MAX_CHARS),
    prompt: text(p?.prompt, policy.maxPromptChars),
    negative_prompt: text(p?.negativePrompt, policy.maxPromptChars),
    image_size: text(p?.imageSize, SHORT_FIELD_MAX_CHARS),
    batch_size: p?.batchSize ?? null,
    seed: p?.seed ?? null,
    num_inference_steps: p?.numInferenceSteps ?? null,
    guidance_scale: formatDecimalString(p?.guidanceScale),
    cfg: formatDecimalString(p?.cfg),
    input_images: trace.inputs.map(inputEntry),
    output_images: trace.outputs.map(outputEntry),
    total_time_seconds: round3(meta.totalMs / 1000),
    total_time_ms: round3(meta.totalMs),
    status: failed ? "failed" : "success",
    error_message: failed ? text(trace.error?.message ?? "the call did not complete", MESSAGE_MAX_CHARS) : null,
    seed_used: trace.seedUsed,
    timing,
    error_code: failed ? ((trace.error?.code as ErrorCode | undefined) ?? null) : null,
    trace_id: trace.upstream.traceId ?? null,
    upstream_attempts: trace.upstream.attempts,
    // Only when SiliconFlow answered more outputs than asked: they were not fetched, nor kept.
    ...(trace.upstream.outputsDropped ? { upstream_outputs_dropped: trace.upstream.outputsDropped } : {}),
    operation_name: text(meta.operationName, SHORT_FIELD_MAX_CHARS),
    // Bounded already: a client-chosen X-Request-Id is used only when it is a short token.
    request_id: meta.requestId,
    client_ip: text(meta.clientIp, SHORT_FIELD_MAX_CHARS),
    provider: trace.provider.toLowerCase(),
    gateway_version: meta.gatewayVersion,
    cache_hit: trace.cacheHit,
    replica: meta.replica,
    api: trace.api,
    job_id: trace.jobId ?? null,
  };
}
