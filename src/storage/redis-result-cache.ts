import type { Redis } from "ioredis";
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { CacheClaim, CachedResult, ResultCache } from "./result-cache.js";

/** A claim lives this long unless renewed: a replica killed mid-call holds its key no longer than this. */
const CLAIM_MS = 10_000;
const RENEW_EVERY_MS = 3_000;
/** How often a waiting call looks whether the call it waits for is over. */
const POLL_MS = 100;
/** Deletes a claim only if it is still this call's: after an expiry another call may hold it. */
const RELEASE = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;

export interface RedisResultCacheOptions {
  client: Pick<Redis, "get" | "set" | "del" | "exists" | "pexpire" | "eval">;
  ttlMs: number;
  /** The longest a call waits for the same call in flight elsewhere before it runs its own. */
  maxWaitMs: number;
  /** Told of every command that failed and every one that answered, so an outage is noticed (and logged) once. */
  onError: (error: unknown) => void;
  onSuccess: () => void;
  keyPrefix?: string;
}

function parse(json: string): CachedResult | undefined {
  try {
    return JSON.parse(json) as CachedResult;
  } catch {
    // Not an entry this gateway wrote: a miss, and the fresh result replaces it.
    return undefined;
  }
}

/**
 * The result cache shared by every replica: a seeded repeat is answered by whichever one it reaches. Redis
 * holds the entry's JSON (stored images' names and metadata, seed, timings, input traces), never an image,
 * and expires it with the cache's TTL. `maxEntries` does not apply here: Redis's own memory policy bounds it.
 */
export class RedisResultCache implements ResultCache {
  private readonly prefix: string;

  constructor(private readonly options: RedisResultCacheOptions) {
    this.prefix = options.keyPrefix ?? "gw-result:";
  }

  async get(key: string): Promise<CachedResult | undefined> {
    const json = await this.attempt(() => this.options.client.get(this.prefix + key));
    return json ? parse(json) : undefined;
  }

  /**
   * The same seeded call in flight on any replica is waited for, through a claim key (SET NX, renewed while
   * the call runs). With Redis unreachable the call runs unclaimed, as without a cache.
   */
  async claim(key: string): Promise<CacheClaim> {
    const { client } = this.options;
    const claimKey = `${this.prefix}claim:${key}`;
    const token = randomUUID();
    const deadline = performance.now() + this.options.maxWaitMs;
    let claimed: boolean;
    for (;;) {
      const kept = await this.get(key);
      if (kept) return { result: kept };
      const won = await this.attempt(() => client.set(claimKey, token, "PX", CLAIM_MS, "NX"));
      // Won, or Redis unreachable (run unclaimed, as without a cache), or waited long enough.
      if (won === "OK" || won === undefined || performance.now() > deadline) {
        claimed = won === "OK";
        break;
      }
      // Another call holds it: wait for its result, or for its claim to go (it failed, or its replica died).
      while (performance.now() <= deadline) {
        await sleep(POLL_MS);
        const result = await this.get(key);
        if (result) return { result };
        const held = await this.attempt(() => client.exists(claimKey));
        if (held !== 1) break;
      }
    }
    if (!claimed) return { release: () => Promise.resolve() };
    const renew = setInterval(() => void this.attempt(() => client.pexpire(claimKey, CLAIM_MS)), RENEW_EVERY_MS).unref();
    const release = async (): Promise<void> => {
      clearInterval(renew);
      await this.attempt(() => client.eval(RELEASE, 1, claimKey, token));
    };
    // The call it waited for may have kept its result just before its claim went.
    const kept = await this.get(key);
    if (!kept) return { release };
    await release();
    return { result: kept };
  }

  async set(key: string, result: CachedResult): Promise<void> {
    await this.attempt(() => this.options.client.set(this.prefix + key, JSON.stringify(result), "PX", this.options.ttlMs));
  }

  async delete(key: string): Promise<void> {
    await this.attempt(() => this.options.client.del(this.prefix + key));
  }

  private async attempt<T>(command: () => Promise<T>): Promise<T | undefined> {
    try {
      const answer = await command();
      this.options.onSuccess();
      return answer;
    } catch (error) {
      this.options.onError(error);
      return undefined;
    }
  }
}
