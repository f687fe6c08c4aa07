import got, { RequestError, type Got } from "got";
import { ErrorCode, GatewayError } from "../errors.js";
import { buildGenerationBody } from "./request-body.js";
import { errorForStatus, retryAfterSeconds, unusableAnswer } from "./error-mapping.js";
import { checkOutputUrl, guardedLookup, OutputRefused, policyForUpstream, refusalIn, type OutputAddressPolicy } from "./output-address.js";
import type { WireGenerationResponse, WireInputImage, WireModelList } from "./wire.js";

export interface SiliconFlowClientOptions {
  baseUrl: string;
  apiKey: string;
  timeoutMs: number;
  /** Retries of a generation that surely did not run (connection refused, 503 overloaded). */
  maxRetries: number;
  downloadTimeoutMs: number;
  maxDownloadBytes?: number;
  retryBaseDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => number;
  /** Where output URLs may point; default: public addresses, plus the upstream's own loopback or private network. */
  outputAddresses?: OutputAddressPolicy;
}

export interface GenerationResult {
  imageUrls: string[];
  seed: number | null;
  timings: Record<string, number>;
}

/** Filled in as the call goes, so the call log has it even when the call fails. */
export interface UpstreamTrace {
  attempts: number;
  status?: number;
  traceId?: string;
  upstreamMs?: number;
  /** Output URLs SiliconFlow answered beyond what was asked, and not fetched: the log says the answer was cut. */
  outputsDropped?: number;
}

const UNREACHABLE = { kind: "unreachable" } as const;

const TRACE_HEADER = "x-siliconcloud-trace-id";

function traceIdOf(headers: Record<string, string | string[] | undefined>): string | undefined {
  const value = headers[TRACE_HEADER];
  return Array.isArray(value) ? value[0] : value;
}

/** An answer's output URL that is not fetched: the call fails before any download starts. */
function refusedOutput(index: number, refusal: OutputRefused): GatewayError {
  return new GatewayError(ErrorCode.UPSTREAM_UNAVAILABLE, `SiliconFlow answered an output URL the gateway does not fetch (images[${index}]): ${refusal.reason}`, {
    cause: refusal,
  });
}

/**
 * The answer, trusted no further than asked: at most `asked` output URLs are taken (each is a download
 * to disk), and each must be one the policy lets the gateway fetch.
 */
function parseGeneration(body: string, asked: number, allowed: OutputAddressPolicy["allowed"], trace: UpstreamTrace): GenerationResult {
  let parsed: WireGenerationResponse;
  try {
    parsed = JSON.parse(body) as WireGenerationResponse;
  } catch {
    throw unusableAnswer("SiliconFlow returned a response that is not JSON");
  }
  const listed = Array.isArray(parsed?.images) && parsed.images.length > 0 ? parsed.images : parsed?.data;
  const images = Array.isArray(listed) ? listed.slice(0, asked) : [];
  if (Array.isArray(listed) && listed.length > asked) trace.outputsDropped = listed.length - asked;
  const imageUrls = images.map((i) => i?.url).filter((u): u is string => typeof u === "string");
  if (imageUrls.length === 0 || imageUrls.length !== images.length) {
    throw unusableAnswer("SiliconFlow returned no usable image URLs");
  }
  imageUrls.forEach((url, index) => {
    const refusal = checkOutputUrl(url, allowed);
    if (refusal) throw refusedOutput(index, refusal);
  });
  const timings: Record<string, number> = {};
  for (const [key, value] of Object.entries(parsed.timings ?? {})) {
    if (typeof value === "number" && Number.isFinite(value)) timings[key] = value;
  }
  const seed = typeof parsed.seed === "number" && Number.isSafeInteger(parsed.seed) ? parsed.seed : null;
  return { imageUrls, seed, timings };
}

/** How many images the request asks for: `batch_size` is sent only to models that take one. */
function imagesAsked(fields: Record<string, string | number>): number {
  const size = fields.batch_size;
  return typeof size === "number" && Number.isSafeInteger(size) && size > 0 ? size : 1;
}

/** The refusal behind a failed download, if the policy is what stopped it (got wraps what it is given). */
export class SiliconFlowClient {
  private readonly http: Got;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly outputs: OutputAddressPolicy;
  private readonly outputLookup: ReturnType<typeof guardedLookup>;

  constructor(private readonly options: SiliconFlowClientOptions) {
    this.http = got.extend({ throwHttpErrors: false, retry: { limit: 0 } });
    this.outputs = options.outputAddresses ?? policyForUpstream(options.baseUrl);
    this.outputLookup = guardedLookup(this.outputs);
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
  }

  private url(path: string): string {
    return `${this.options.baseUrl.replace(/\/+$/, "")}${path}`;
  }

  private get secrets(): string[] {
    return [this.options.apiKey];
  }

  /**
   * One generation. SiliconFlow bills what ran, so a request is sent again only when it surely did not
   * run: the connection was refused, or the service said 503 (overloaded). got cannot replay a streamed
   * body, hence the loop here rather than got's retry.
   */
  async generate(
    fields: Record<string, string | number>,
    images: readonly WireInputImage[],
    trace: UpstreamTrace,
    apiKey = this.options.apiKey,
  ): Promise<GenerationResult> {
    const body = buildGenerationBody(fields, images);
    const started = this.now();
    const secrets = [...this.secrets, apiKey];
    try {
      for (let attempt = 0; ; attempt += 1) {
        trace.attempts = attempt + 1;
        let response;
        try {
          response = await this.http.post(this.url("/images/generations"), {
            body: body.open(),
            headers: {
              authorization: `Bearer ${apiKey}`,
              "content-type": "application/json",
              "content-length": String(body.contentLength),
              accept: "application/json",
            },
            timeout: { request: this.options.timeoutMs },
            responseType: "text",
          });
        } catch (error) {
          const code = (error as RequestError).code;
          if (code === "ECONNREFUSED" && attempt < this.options.maxRetries) {
            await this.backoff(attempt);
            continue;
          }
          throw this.transportError(error);
        }
        trace.status = response.statusCode;
        trace.traceId = traceIdOf(response.headers) ?? trace.traceId;
        if (response.statusCode === 503 && attempt < this.options.maxRetries) {
          await this.backoff(attempt);
          continue;
        }
        if (response.statusCode !== 200) {
          throw errorForStatus(response.statusCode, response.body, secrets, retryAfterSeconds(response.headers["retry-after"], this.now()));
        }
        return parseGeneration(response.body, imagesAsked(fields), this.outputs.allowed, trace);
      }
    } finally {
      trace.upstreamMs = this.now() - started;
    }
  }

  private async backoff(attempt: number): Promise<void> {
    const base = (this.options.retryBaseDelayMs ?? 250) * 2 ** attempt;
    // Full jitter: concurrent callers refused together must not come back together.
    await this.sleep(base / 2 + this.random() * base);
  }

  private transportError(error: unknown, timeoutMs = this.options.timeoutMs): GatewayError {
    const code = (error as RequestError | undefined)?.code;
    if (code === "ETIMEDOUT" || (error as Error)?.name === "TimeoutError") {
      return new GatewayError(ErrorCode.UPSTREAM_TIMEOUT, `SiliconFlow did not answer within ${timeoutMs} ms`, { upstream: UNREACHABLE });
    }
    const reason = code === "ECONNREFUSED" ? "refused the connection" : code === "ECONNRESET" ? "closed the connection" : "could not be reached";
    return new GatewayError(ErrorCode.UPSTREAM_UNAVAILABLE, `SiliconFlow ${reason}`, { upstream: UNREACHABLE });
  }

  /**
   * The output as a stream of chunks, for writing to disk as it arrives. Output URLs are pre-signed: no
   * Authorization header (the key must not go to a storage host). A GET that fails before its first byte
   * is tried again, twice; once bytes went out, a failure is final. The address policy is applied to the
   * URL, to every address a name resolves to when connecting, and to every redirect.
   */
  /**
   * `size.bytes` is set to the response's Content-Length once it is known (before the first chunk), so a
   * store that must announce the size up front (S3's PutObject) can stream without holding the image.
   */
  async *downloadStream(url: string, index = 0, size: { bytes?: number } = {}): AsyncGenerator<Buffer> {
    const limit = this.options.maxDownloadBytes ?? 64 * 1024 * 1024;
    const refusal = checkOutputUrl(url, this.outputs.allowed);
    if (refusal) throw refusedOutput(index, refusal);
    for (let attempt = 0; ; attempt += 1) {
      let received = 0;
      try {
        const stream = got.stream(url, {
          timeout: { request: this.options.downloadTimeoutMs },
          retry: { limit: 0 },
          dnsLookup: this.outputLookup,
          hooks: {
            beforeRedirect: [
              (next) => {
                const refused = checkOutputUrl(String(next.url), this.outputs.allowed);
                if (refused) throw refused;
              },
            ],
          },
        });
        size.bytes = undefined;
        stream.once("response", (response: { headers: Record<string, string | string[] | undefined> }) => {
          const length = Number(response.headers["content-length"]);
          // A compressed answer's length is not the image's.
          if (Number.isSafeInteger(length) && length >= 0 && response.headers["content-encoding"] === undefined) size.bytes = length;
        });
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          received += chunk.length;
          if (received > limit) {
            stream.destroy();
            throw new Error("output image too large");
          }
          yield chunk;
        }
        return;
      } catch (error) {
        const refused = refusalIn(error);
        if (refused) throw refusedOutput(index, refused);
        const status = (error as { response?: { statusCode?: number } }).response?.statusCode;
        const code = (error as RequestError).code;
        const transient = status === undefined ? code !== undefined : status >= 500 || status === 408 || status === 429;
        if (received === 0 && transient && attempt < 2) {
          await this.backoff(attempt);
          continue;
        }
        const reason = status ? `HTTP ${status}` : (code ?? "network error");
        throw new GatewayError(ErrorCode.UPSTREAM_UNAVAILABLE, `an output image could not be downloaded from SiliconFlow (${reason})`);
      }
    }
  }

  /** The image models this key may call: SiliconFlow's list carries ids only. */
  async listModelIds(timeoutMs = 10_000): Promise<string[]> {
    let response;
    try {
      response = await this.http.get(this.url("/models"), {
        searchParams: { type: "image" },
        headers: { authorization: `Bearer ${this.options.apiKey}` },
        timeout: { request: timeoutMs },
        responseType: "text",
      });
    } catch (error) {
      throw this.transportError(error, timeoutMs);
    }
    if (response.statusCode !== 200) {
      throw errorForStatus(response.statusCode, response.body, this.secrets, undefined);
    }
    let parsed: WireModelList;
    try {
      parsed = JSON.parse(response.body) as WireModelList;
    } catch {
      throw unusableAnswer("SiliconFlow returned a model list that is not JSON");
    }
    return (Array.isArray(parsed?.data) ? parsed.data : []).map((m) => m?.id).filter((id): id is string => typeof id === "string");
  }
}
