/**
 * One line of `image_generation.log`. The snake_case names and the types are the contract of
 * docs/call-log.md, which log tooling is written against: change them only together with that
 * table. Fields marked "extra" are additions the contract allows.
 */
import type { ErrorCode } from "../errors.js";

export type CallStatus = "success" | "failed";

/** One input image, as sent upstream. */
export interface InputImageEntry {
  /** Position in the request: 0 for `image`, 1 for `image2`, 2 for `image3`. */
  index: number;
  /** First 100 characters of the base64 sent upstream, without a `data:` prefix. */
  base64_preview: string;
  /**
   * [width, height] in pixels as sent. An upload that could not be decoded has no entry: the
   * record's `error_message` says why it was refused.
   */
  size: [number, number];
  mime_type: string;
  /** Bytes of the encoded image as sent upstream (not of its base64). */
  bytes: number;
  /** extra: the format the client uploaded, as decoded (`png`, `gif`, `heif`…). */
  source_format?: string;
  /** extra: whether the gateway re-encoded it (orientation, downscaling, or a format SiliconFlow does not take). */
  converted?: boolean;
}

/** One output image, as received and stored. */
export interface OutputImageEntry {
  index: number;
  /** First 100 characters of the image's base64 as received (computed from the downloaded bytes). */
  base64_preview: string;
  size: [number, number];
  mime_type: string;
  bytes: number;
  /** The gateway URL the client was given. */
  url: string;
  /** extra: SiliconFlow's URL (signed, expires after about an hour). */
  upstream_url: string | null;
}

/** Gateway phases, in milliseconds; `null` when the call ended before the phase ran. */
export interface GatewayPhaseTimings {
  upload_ms: number | null;
  preprocess_ms: number | null;
  upstream_ms: number | null;
  download_ms: number | null;
  store_ms: number | null;
}

export const GATEWAY_PHASES = ["upload_ms", "preprocess_ms", "upstream_ms", "download_ms", "store_ms"] as const;
export type GatewayPhase = (typeof GATEWAY_PHASES)[number];

/**
 * SiliconFlow's `timings` object copied as reported (e.g. `inference`, in seconds), plus the gateway
 * phases. Upstream keys are open-ended, hence the index signature.
 */
export interface CallTiming extends GatewayPhaseTimings {
  [upstreamTiming: string]: number | null;
}

export interface CallLogRecord {
  /** ISO 8601 UTC with milliseconds, when the call started: `2026-11-26T03:15:00.123Z`. */
  timestamp: string;
  call_id: string;
  /** Masked with `maskApiKey`; never the key. */
  api_key: string;
  /** `null` only when the request never named one (refused before it was read). */
  model: string | null;
  prompt: string | null;
  negative_prompt: string | null;
  /** `WxH`, e.g. `1024x1024`. */
  image_size: string | null;
  batch_size: number | null;
  seed: number | null;
  num_inference_steps: number | null;
  /** As requested, written with `formatDecimalString`: `"7.5"`. */
  guidance_scale: string | null;
  cfg: string | null;
  input_images: InputImageEntry[];
  output_images: OutputImageEntry[];
  total_time_seconds: number;
  total_time_ms: number;
  status: CallStatus;
  /** Already sanitised (`sanitizeMessage`): no key, no base64, no server path. */
  error_message: string | null;
  seed_used: number | null;
  timing: CallTiming;

  // extras
  /** The GraphQL `extensions.code` of the failure. `INTERNAL_SERVER_ERROR` logs at `error` level. */
  error_code?: ErrorCode | null;
  /** How many times the generation was sent (more than 1 only when it surely had not run). */
  upstream_attempts?: number;
  /** Present only when SiliconFlow answered more output URLs than asked: how many were not fetched. */
  upstream_outputs_dropped?: number;
  /** SiliconFlow's `x-siliconcloud-trace-id` response header. */
  trace_id?: string | null;
  operation_name?: string | null;
  request_id?: string;
  client_ip?: string | null;
  /** `siliconflow`, or `simulator` when the gateway runs without a key. */
  provider?: string;
  gateway_version?: string;
  cache_hit?: boolean;
  /** The replica that wrote the line (REPLICA_ID, else the hostname). */
  replica?: string;
  /** Which face the call came through: `graphql`, `openai` (the OpenAI Images API) or `rest` (`/generate-images`). */
  api?: string;
  /** The generation job the call ran for (`submitGeneration`), else `null`. */
  job_id?: string | null;
}

/**
 * A number as the contract's decimal string: 7.5 → "7.5", 4 → "4", -0 → "0". JavaScript's shortest
 * round-trip form, so the string reads back as the same double. `null`/`undefined` (not given) and
 * non-finite values (never valid parameters) give `null`.
 */
export function formatDecimalString(n: number | null | undefined): string | null {
  if (n == null || !Number.isFinite(n)) return null;
  return String(n);
}

/** Timing with every gateway phase `null`; the service fills phases as they complete. */
export function emptyTiming(): CallTiming {
  return { upload_ms: null, preprocess_ms: null, upstream_ms: null, download_ms: null, store_ms: null };
}
