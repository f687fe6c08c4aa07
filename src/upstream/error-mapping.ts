import { sanitizeMessage } from "../observability/mask.js";
import { ErrorCode, GatewayError } from "../errors.js";

const MAX_MESSAGE = 300;

/** SiliconFlow's bodies are not uniform: JSON with `message`, a bare JSON string, or plain text. */
export function upstreamMessage(body: string, secrets: readonly string[]): string {
  let message = body.trim();
  try {
    const parsed: unknown = JSON.parse(message);
    if (typeof parsed === "string") message = parsed;
    else if (parsed && typeof parsed === "object" && typeof (parsed as { message?: unknown }).message === "string") {
      message = (parsed as { message: string }).message;
    }
  } catch {
    // not JSON: keep the text
  }
  // Upstreams echo headers and bodies in errors: no key and no image data may pass through.
  message = sanitizeMessage(message, secrets);
  // Control characters and markup have no business in a client-facing message.
  // eslint-disable-next-line no-control-regex -- stripping control characters is the point
  message = message.replace(/[\u0000-\u001f\u007f]+/g, " ").replace(/<[^>]*>/g, "").trim();
  return message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE)}…` : message;
}

export function retryAfterSeconds(header: string | string[] | undefined, now: number): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}

/** A 200 whose body could not be used: SiliconFlow answered, so it is reachable. */
export function unusableAnswer(message: string): GatewayError {
  return new GatewayError(ErrorCode.UPSTREAM_UNAVAILABLE, message, { upstream: { kind: "answered", status: 200 } });
}

/** Maps an upstream HTTP status to the public error; the caller has already decided not to retry. */
export function errorForStatus(status: number, body: string, secrets: readonly string[], retryAfter: number | undefined): GatewayError {
  const detail = upstreamMessage(body, secrets);
  const suffix = detail ? `: ${detail}` : "";
  const upstream = { kind: "answered", status } as const;
  if (status === 400 || status === 422) {
    return new GatewayError(ErrorCode.UPSTREAM_BAD_REQUEST, `SiliconFlow refused the request${suffix}`, { upstream });
  }
  if (status === 401 || status === 403) {
    return new GatewayError(
      ErrorCode.UPSTREAM_UNAUTHORIZED,
      `SiliconFlow refused the API key (HTTP ${status}${suffix}). Check the key, the account's real-name verification and its balance.`,
      { upstream },
    );
  }
  if (status === 429) {
    return new GatewayError(ErrorCode.UPSTREAM_RATE_LIMITED, `SiliconFlow's rate limit was reached${suffix}`, {
      retryAfterSeconds: retryAfter ?? 60,
      upstream,
    });
  }
  if (status === 504) {
    return new GatewayError(ErrorCode.UPSTREAM_TIMEOUT, `SiliconFlow timed out (HTTP 504)${suffix}`, { upstream });
  }
  if (status === 404) {
    return new GatewayError(ErrorCode.UPSTREAM_UNAVAILABLE, "SiliconFlow answered 404: check SILICONFLOW_BASE_URL", { upstream });
  }
  return new GatewayError(ErrorCode.UPSTREAM_UNAVAILABLE, `SiliconFlow is unavailable (HTTP ${status}${suffix})`, { upstream });
}
