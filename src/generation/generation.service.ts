import type { CallTrace, ImageTrace, Phase } from "../call-log/call-trace.js";
import { asGatewayError, ErrorCode, GatewayError, badInput } from "../errors.js";
import { upstreamParameters, validateGeneration, type GenerationParams } from "../models/generation-rules.js";
import { base64Preview, prepareInputImage, type InputImageLimits, type PreparedImage } from "./image-processing.js";
import type { ImageStore, StoredImage, StreamedImage } from "../storage/image-store.js";
import type { ModelRegistry } from "../models/model-registry.js";
import type { GenerationResult, UpstreamTrace } from "../upstream/siliconflow-client.js";
import type { WireInputImage } from "../upstream/wire.js";
import type { ConcurrencyGate } from "../limits/concurrency-gate.js";
import type { GatewayMetrics } from "../observability/metrics.js";
import type { RateLimits } from "../limits/rate-limits.js";
import { resultCacheKey, type CachedResult, type ResultCache } from "../storage/result-cache.js";
import { readUpload, type IncomingFile } from "./upload-reader.js";

/** The upstream as the service needs it: the real client, or anything that speaks the same. */
export interface ImageGenerator {
  generate(fields: Record<string, string | number>, images: readonly WireInputImage[], trace: UpstreamTrace, apiKey?: string): Promise<GenerationResult>;
  /** `index` names the output in a refusal's message. */
  /** Sets `size.bytes` when the answer announces its length, before the first chunk. */
  downloadStream(url: string, index?: number, size?: { bytes?: number }): AsyncIterable<Buffer>;
}

export interface GenerationLimits {
  maxUploadBytes: number;
  maxFiles: number;
  maxPromptLength: number;
  images: InputImageLimits;
}

export interface GenerationServiceDeps {
  registry: ModelRegistry;
  upstream: ImageGenerator;
  store: ImageStore;
  limits: GenerationLimits;
  gate: ConcurrencyGate;
  rateLimits: RateLimits;
  /**
   * The URL handed to the client instead of the gateway's route (IMAGE_URL_MODE=presigned). The call log
   * keeps the gateway's: a presigned URL is a bearer credential for as long as it lasts.
   */
  presignedUrl?: (fileName: string) => Promise<string>;
  /** Seeded results already paid for; absent turns caching off. */
  cache?: ResultCache;
  metrics?: GatewayMetrics;
  /** Monotonic milliseconds, for phase timings. */
  monotonicMs?: () => number;
  /**
   * Asked before anything is spent: an error when the gateway must start no new call now (stopping, or
   * unable to record what it spends).
   */
  refusal?: () => GatewayError | undefined;
}

export interface GenerationRequest {
  params: GenerationParams;
  uploads: ReadonlyArray<Promise<IncomingFile>>;
  /** Absolute base for the URLs handed back, e.g. `https://gateway.example`. */
  publicBaseUrl: string;
  caller: Caller;
  /** False bypasses the result cache (a fresh, billed generation even with a seed). */
  useCache?: boolean;
}

/** Who is calling, as the transport established it. */
export interface Caller {
  /** False when client tokens are configured and none matched. */
  authenticated: boolean;
  /** What per-client limits count by: the token, else the address. */
  clientKey: string;
  /** The caller's own SiliconFlow key, when the configuration allows it. */
  apiKey?: string;
}

export interface GeneratedImageResult extends StoredImage {
  index: number;
  url: string;
}

export interface GenerationOutcome {
  images: GeneratedImageResult[];
  seed: number | null;
  inferenceSeconds: number | null;
  cacheHit: boolean;
}

/**
 * A call checked and its inputs prepared, not yet spent anything: what `execute` needs, and what a job
 * keeps until a worker runs it (the images apart, which go to the image store).
 */
export interface PreparedGeneration {
  params: GenerationParams;
  modelId: string;
  /** The upstream's form fields. */
  fields: Record<string, string | number>;
  images: PreparedImage[];
  /** Set for a seeded call that may be answered from the result cache. */
  cacheKey: string | undefined;
  /** What the images-per-minute budget is charged. */
  imageCount: number;
  /** The caller's own SiliconFlow key, when allowed. */
  apiKey?: string;
  publicBaseUrl: string;
}

export interface ExecuteOptions {
  /**
   * Called inside the concurrency gate right before the upstream POST; a throw sends nothing. Jobs mark
   * themselves sent here, so a job picked up again after its worker died is never sent twice.
   */
  beforeSend?: () => Promise<void>;
  /**
   * Wait for the images-per-minute budget and for a slot of the gate however long it takes, instead of
   * failing with RATE_LIMITED: a queued job's client is not waiting on a connection.
   */
  waitForCapacity?: boolean;
  /** Ends such a wait (a shutdown), with the signal's reason. */
  signal?: AbortSignal;
}

/** The record's entry for one prepared input. */
export function inputTrace(image: PreparedImage): ImageTrace {
  return {
    index: image.index,
    base64Preview: base64Preview(image.data),
    width: image.width,
    height: image.height,
    mimeType: image.mimeType,
    bytes: image.data.length,
    sourceFormat: image.sourceFormat,
    sourceBytes: image.sourceBytes,
    transformed: image.transformed,
  };
}

export class GenerationService {
  private readonly monotonicMs: () => number;

  constructor(private readonly deps: GenerationServiceDeps) {
    this.monotonicMs = deps.monotonicMs ?? (() => performance.now());
  }

  private async timed<T>(trace: CallTrace, phase: Phase, work: () => Promise<T>): Promise<T> {
    const started = this.monotonicMs();
    try {
      return await work();
    } finally {
      trace.phases[phase] = Math.round((this.monotonicMs() - started) * 1000) / 1000;
    }
  }

  /**
   * One call, start to end: its outcome, or a GatewayError (anything else becomes INTERNAL_SERVER_ERROR).
   * `trace` collects the facts the call log records as they are learnt; how the call ended is the book's
   * to say, from what this returns or throws.
   */
  async generate(request: GenerationRequest, trace: CallTrace): Promise<GenerationOutcome> {
    const finished = this.deps.metrics?.callStarted();
    try {
      return await this.execute(await this.prepare(request, trace), trace);
    } catch (error) {
      throw asGatewayError(error);
    } finally {
      finished?.();
    }
  }

  /**
   * Everything that can fail cheaply, before anything is spent: the refusal check, the per-client limit,
   * the token, the rules of the model, the uploads read and the images prepared. A job's submission ends
   * here; `execute` runs the rest later, maybe on another replica.
   */
  async prepare(request: GenerationRequest, trace: CallTrace): Promise<PreparedGeneration> {
    try {
      return await this.prepareCall(request, trace);
    } catch (error) {
      throw asGatewayError(error);
    }
  }

  private async prepareCall(request: GenerationRequest, trace: CallTrace): Promise<PreparedGeneration> {
    const { params, uploads, caller } = request;
    const { limits, registry } = this.deps;
    trace.params = params;

    const refusal = this.deps.refusal?.();
    if (refusal) throw refusal;

    // Before the token check: a caller without one is counted by its address, so it cannot call without limit.
    await this.deps.rateLimits.checkClient(caller.clientKey);
    if (!caller.authenticated) {
      throw new GatewayError(ErrorCode.UNAUTHENTICATED, "generateImages needs a client token: send `Authorization: Bearer <token>`");
    }

    if (uploads.length > limits.maxFiles) {
      throw badInput("input.images", `at most ${limits.maxFiles} images may be uploaded, got ${uploads.length}`);
    }
    const model = registry.get(params.model);
    validateGeneration(
      params,
      uploads.length,
      model,
      { maxPromptLength: limits.maxPromptLength },
      registry
        .list()
        .filter((m) => m.available)
        .map((m) => m.id),
    );

    const buffers = await this.timed(trace, "upload", () =>
      Promise.all(uploads.map((upload, i) => readUpload(upload, `input.images[${i}]`, limits.maxUploadBytes))),
    );
    const fields = upstreamParameters(params, model);
    const { cache } = this.deps;
    // Only an explicit seed makes a repeat the same picture; without one each call is new by design. The key
    // is of the bytes as uploaded, so a repeat matches whatever preparing them gives.
    const cacheKey = cache && params.seed != null && request.useCache !== false ? resultCacheKey(fields, buffers) : undefined;

    const images: PreparedImage[] = await this.timed(trace, "preprocess", () =>
      Promise.all(buffers.map((buffer, i) => prepareInputImage(buffer, i, limits.images))),
    );
    buffers.length = 0;
    trace.inputs = images.map(inputTrace);
    return {
      params,
      modelId: model.id,
      fields,
      images,
      cacheKey,
      imageCount: model.maxBatchSize > 1 ? (params.batchSize ?? 1) : 1,
      apiKey: caller.apiKey,
      publicBaseUrl: request.publicBaseUrl,
    };
  }

  /**
   * What a prepared call spends: the result cache asked (a seeded repeat is answered from it, the same call
   * in flight elsewhere waited for), the images-per-minute budget reserved, a slot of the concurrency gate
   * taken, then SiliconFlow called and the outputs downloaded and stored.
   */
  async execute(prepared: PreparedGeneration, trace: CallTrace, options: ExecuteOptions = {}): Promise<GenerationOutcome> {
    try {
      return await this.executeCall(prepared, trace, options);
    } catch (error) {
      throw asGatewayError(error);
    }
  }

  private async executeCall(prepared: PreparedGeneration, trace: CallTrace, options: ExecuteOptions): Promise<GenerationOutcome> {
    const { cache } = this.deps;
    const { cacheKey } = prepared;
    trace.params ??= prepared.params;
    // The same call in flight (here or on another replica) is waited for, not paid twice.
    const claim = cacheKey ? await cache?.claim(cacheKey) : undefined;
    if (cacheKey && claim?.result) {
      if (await this.stillStored(claim.result)) return await this.fromCache(claim.result, prepared, trace);
      await cache?.delete(cacheKey);
    }
    try {
      return await this.generateFresh(prepared, trace, options);
    } finally {
      await claim?.release?.();
    }
  }

  /** The call SiliconFlow answers: the budget reserved, the outputs downloaded, stored and (seeded) kept. */
  private async generateFresh(prepared: PreparedGeneration, trace: CallTrace, options: ExecuteOptions): Promise<GenerationOutcome> {
    const { images, fields, cacheKey } = prepared;
    const { cache } = this.deps;

    if (options.waitForCapacity) {
      await this.deps.rateLimits.reserveImagesPatiently(prepared.modelId, prepared.imageCount, options.signal);
    } else {
      await this.deps.rateLimits.reserveImages(prepared.modelId, prepared.imageCount);
    }
    const queued = this.monotonicMs();
    const send = async (): Promise<GenerationResult> => {
      trace.phases.queue = Math.round((this.monotonicMs() - queued) * 1000) / 1000;
      await options.beforeSend?.();
      return this.timed(trace, "upstream", () => this.deps.upstream.generate(fields, images, trace.upstream, prepared.apiKey));
    };
    const result = await (options.waitForCapacity ? this.deps.gate.runPatiently(send, options.signal) : this.deps.gate.run(send));
    // The inputs are no longer needed; let them go before the outputs arrive.
    images.length = 0;
    trace.upstreamTimings = result.timings;
    trace.seedUsed = result.seed;

    const streamed = await this.timed(trace, "download", () => this.storeAll(result.imageUrls));
    // Written while downloading: what remains for "store" is the header probe and the rename.
    trace.phases.store = Math.round(Math.max(...streamed.map((image) => image.storeMs)) * 1000) / 1000;
    const stored = streamed.map(({ head: _head, storeMs: _storeMs, ...image }) => image);
    const outputs = streamed.map((image, index) => ({ base64Preview: base64Preview(image.head), upstreamUrl: result.imageUrls[index] }));
    const fresh: CachedResult = { images: stored, outputs, seed: result.seed, timings: result.timings, inputs: trace.inputs };
    // Kept before answering, so a repeat sent the moment this answer arrives, to any replica, finds it.
    if (cacheKey) await cache?.set(cacheKey, fresh);
    return this.outcome(fresh, prepared, trace, false);
  }

  /**
   * Downloads and stores every output. All are settled before a failure is reported, so no download
   * goes on writing (or leaves a temporary file behind) after the call has answered.
   */
  private async storeAll(urls: readonly string[]): Promise<StreamedImage[]> {
    const settled = await Promise.allSettled(
      urls.map((url, i) => {
        const size: { bytes?: number } = {};
        return this.deps.store.putStream(this.deps.upstream.downloadStream(url, i, size), size);
      }),
    );
    const failed = settled.find((outcome) => outcome.status === "rejected");
    if (failed) throw failed.reason;
    return settled.map((outcome) => (outcome as PromiseFulfilledResult<StreamedImage>).value);
  }

  private async stillStored(cached: CachedResult): Promise<boolean> {
    const found = await Promise.all(cached.images.map((image) => this.deps.store.find(image.fileName)));
    return found.every(Boolean);
  }

  private fromCache(cached: CachedResult, request: Pick<PreparedGeneration, "publicBaseUrl">, trace: CallTrace): Promise<GenerationOutcome> {
    trace.cacheHit = true;
    trace.inputs = cached.inputs;
    trace.upstreamTimings = cached.timings;
    trace.seedUsed = cached.seed;
    return this.outcome(cached, request, trace, true);
  }

  private async outcome(result: CachedResult, request: Pick<PreparedGeneration, "publicBaseUrl">, trace: CallTrace, cacheHit: boolean): Promise<GenerationOutcome> {
    const base = request.publicBaseUrl.replace(/\/+$/, "");
    const images = result.images.map((image, index) => ({ ...image, index, url: `${base}/images/${image.fileName}` }));
    const { presignedUrl } = this.deps;
    const handed = presignedUrl ? await Promise.all(images.map(async (image) => ({ ...image, url: await presignedUrl(image.fileName) }))) : images;
    trace.outputs = images.map((image, index) => ({
      index,
      base64Preview: result.outputs[index]!.base64Preview,
      width: image.width,
      height: image.height,
      mimeType: image.mimeType,
      bytes: image.bytes,
      url: image.url,
      upstreamUrl: result.outputs[index]!.upstreamUrl,
    }));
    const inference = result.timings.inference;
    return { images: handed, seed: result.seed, inferenceSeconds: typeof inference === "number" ? inference : null, cacheHit };
  }
}
