import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
import { ErrorCode, GatewayError } from "../errors.js";

export interface RateLimitOptions {
  /** generateImages calls per client per window; undefined turns the per-client limit off. */
  callsPerWindow?: number;
  windowSeconds: number;
  /** Images per minute per model (the account's SiliconFlow tier). */
  imagesPerMinute: Record<string, number>;
  /** An ioredis client when several gateways share the counters. */
  redis?: unknown;
}

/** A counter of `points` per `duration` seconds, in Redis when given one, else in memory. */
export function rateLimiter(points: number, duration: number, keyPrefix: string, redis: unknown): RateLimiterAbstract {
  const memory = new RateLimiterMemory({ points, duration, keyPrefix });
  // With Redis down, count in memory rather than refuse everyone: a counter outage must not become an outage.
  return redis ? new RateLimiterRedis({ storeClient: redis, points, duration, keyPrefix, insuranceLimiter: memory }) : memory;
}

/** Waits `ms`, or rejects with the signal's reason when it aborts first. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const aborted = (): Error => (signal?.reason instanceof Error ? signal.reason : new Error("the wait for the images-per-minute budget was aborted"));
    // Aborted while the budget was being asked: no abort event is coming.
    if (signal?.aborted) return reject(aborted());
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(aborted());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function refusal(result: unknown, message: string): GatewayError {
  if (result instanceof RateLimiterRes) {
    return new GatewayError(ErrorCode.RATE_LIMITED, message, { retryAfterSeconds: Math.max(1, Math.ceil(result.msBeforeNext / 1000)) });
  }
  // Not a refusal: the limiter itself broke (the insurance limiter already covers a Redis outage).
  throw result;
}

/** Per-client call limits and per-model image budgets, checked before anything is spent. */
export class RateLimits {
  private readonly perClient: RateLimiterAbstract | undefined;
  private readonly perModel = new Map<string, RateLimiterAbstract>();

  constructor(private readonly options: RateLimitOptions) {
    this.perClient = options.callsPerWindow ? rateLimiter(options.callsPerWindow, options.windowSeconds, "gw-client", options.redis) : undefined;
    for (const [model, points] of Object.entries(options.imagesPerMinute)) {
      this.perModel.set(model, rateLimiter(points, 60, `gw-model:${model}`, options.redis));
    }
  }

  async checkClient(clientKey: string): Promise<void> {
    if (!this.perClient) return;
    try {
      await this.perClient.consume(clientKey, 1);
    } catch (result) {
      throw refusal(result, `Too many calls from this client: at most ${this.options.callsPerWindow} per ${this.options.windowSeconds} s`);
    }
  }

  /**
   * Takes `images` from the model's per-minute budget, waiting for the minute to turn as often as needed:
   * for a queued job, the budget frees up by itself. A batch larger than the whole budget never fits and is
   * refused at once. `signal` ends the wait with its reason.
   */
  async reserveImagesPatiently(model: string, images: number, signal?: AbortSignal): Promise<void> {
    const perMinute = this.options.imagesPerMinute[model];
    for (;;) {
      signal?.throwIfAborted();
      try {
        return await this.reserveImages(model, images);
      } catch (error) {
        if (!(error instanceof GatewayError) || error.code !== ErrorCode.RATE_LIMITED || perMinute === undefined || images > perMinute) throw error;
        await pause((error.retryAfterSeconds ?? 1) * 1000, signal);
      }
    }
  }

  /** Takes `images` from the model's per-minute budget, or refuses the whole call. */
  async reserveImages(model: string, images: number): Promise<void> {
    const budget = this.perModel.get(model);
    if (!budget) return;
    try {
      await budget.consume("images", images);
    } catch (result) {
      // The counter took the refused batch's images too: give them back, or one batch too large for what is
      // left would lock the model out for the rest of the minute, single images included.
      if (result instanceof RateLimiterRes) await budget.reward("images", images).catch(() => undefined);
      throw refusal(result, `The images-per-minute budget of ${model} (${this.options.imagesPerMinute[model]}) is spent`);
    }
  }
}
