import { LRUCache } from "lru-cache";
import { RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
import { rateLimiter } from "./rate-limits.js";

export interface RefusalLimitOptions {
  /** Refused calls per client per minute before every call of that client is refused; 0 turns it off. */
  perMinute: number;
  /** An ioredis client when several gateways share the counters. */
  redis?: unknown;
}

/** Clients remembered as spent; past it the oldest are forgotten and cost one more refusal to remember. */
const MAX_SPENT_CLIENTS = 10_000;

/**
 * Refusals cost nothing upstream but each still writes a call-log line and takes the gateway's time,
 * and they need no token: past a budget no honest client meets, a client is refused at once until its
 * minute ends. Counted by the caller's key: the token when one matched, else the address, so a stranger
 * sharing an address cannot lock out a client that has a token.
 *
 * Which clients are spent is known locally and synchronously, from what counting answered: the check runs
 * on every request, and it costs neither a promise nor a round trip to Redis.
 */
export class RefusalLimits {
  private readonly limiter: RateLimiterAbstract | undefined;
  private readonly spent = new LRUCache<string, true>({ max: MAX_SPENT_CLIENTS, ttl: 60_000 });

  constructor(readonly options: RefusalLimitOptions) {
    this.limiter = options.perMinute > 0 ? rateLimiter(options.perMinute, 60, "gw-refusals", options.redis) : undefined;
  }

  /** Seconds until the client may call again when its budget is spent, else undefined. */
  retryAfterSeconds(clientKey: string): number | undefined {
    if (!this.spent.has(clientKey)) return undefined;
    return Math.max(1, Math.ceil(this.spent.getRemainingTTL(clientKey) / 1000));
  }

  /** Counts one refusal; never fails the call it is counted for. */
  count(clientKey: string): void {
    this.limiter?.consume(clientKey, 1).then(
      (result) => {
        if (result.remainingPoints === 0) this.markSpent(clientKey, result);
      },
      (result: unknown) => {
        // Rejected with a result once the budget is spent; anything else is the store failing, which concerns no caller.
        if (result instanceof RateLimiterRes) this.markSpent(clientKey, result);
      },
    );
  }

  private markSpent(clientKey: string, result: RateLimiterRes): void {
    this.spent.set(clientKey, true, { ttl: Math.max(1, result.msBeforeNext) });
  }
}
