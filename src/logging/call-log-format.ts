import type { CallTrace, ImageTrace } from "../services/call-trace.js";
import type { ErrorCode } from "../services/errors.js";
import { emptyTiming, formatDecimalString, type CallLogRecord, type InputImageEntry, type OutputImageEntry } from "./call-log-record.js";

export interface CallLogMeta {
  totalMs: number;
  requestId: string;
  operationName: string | null;
  clientIp: string | null;
  gatewayVersion: string;
}

function inputEntry(image: ImageTrace): InputImageEntry {
  return {
    index: image.index,
    base64_preview: image.base64Preview,
    size: [image.width, image.height],
    mime_type: image.mimeType,
    bytes: image.bytes,
    source_format: image.sourceFormat,
    converted: image.transformed,
  };
}

function outputEntry(image: ImageTrace): OutputImageEntry {
  return {
    index: image.index,
    base64_preview: image.base64Preview,
    size: [image.width, image.height],
    mime_type: image.mimeType,
    bytes: image.bytes,
    url: image.url ?? "",
    upstream_url: image.upstreamUrl ?? null,
  };
}

const round3 = (n: number): number => Math.round(n * 1000) / 1000;

/** A call as the log's contract spells it (design.md's table), plus the extras. */
export function toCallLogRecord(trace: CallTrace, meta: CallLogMeta): CallLogRecord {
  const p = trace.params;
  const timing = emptyTiming();
  for (const [key, value] of Object.entries(trace.upstreamTimings)) timing[key] = value;
  timing.upload_ms = trace.phases.upload ?? null;
  timing.preprocess_ms = trace.phases.preprocess ?? null;
  timing.upstream_ms = trace.phases.upstream ?? null;
  timing.download_ms = trace.phases.download ?? null;
  timing.store_ms = trace.phases.store ?? null;
  // Extra: time spent waiting for an upstream slot (SILICONFLOW_MAX_CONCURRENCY).
  if (trace.phases.queue !== undefined) timing.queue_ms = trace.phases.queue;
  const failed = trace.status !== "success";
  return {
    timestamp: new Date(trace.startedAt).toISOString(),
    call_id: trace.callId,
    api_key: trace.apiKeyMasked,
    model: p?.model ?? null,
    prompt: p?.prompt ?? null,
    negative_prompt: p?.negativePrompt ?? null,
    image_size: p?.imageSize ?? null,
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
    error_message: failed ? (trace.error?.message ?? "the call did not complete") : null,
    seed_used: trace.seedUsed,
    timing,
    error_code: failed ? ((trace.error?.code as ErrorCode | undefined) ?? null) : null,
    trace_id: trace.upstream.traceId ?? null,
    upstream_attempts: trace.upstream.attempts,
    operation_name: meta.operationName,
    request_id: meta.requestId,
    client_ip: meta.clientIp,
    provider: trace.provider.toLowerCase(),
    gateway_version: meta.gatewayVersion,
    cache_hit: trace.cacheHit,
  };
}
