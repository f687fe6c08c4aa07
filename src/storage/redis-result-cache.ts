import type { Redis } from "ioredis";
import type { CachedResult, ResultCache } from "./result-cache.js";

export interface RedisResultCacheOptions {
  client: Pick<Redis, "get" | "set" | "del">;
  ttlMs: number;
  /** Told of every command that failed and every one that answered, so an outage is noticed (and logged) once. */
  onError: (error: unknown) => void;
  onSuccess: () => void;
  keyPrefix?: string;
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
    if (!json) return undefined;
    try {
      return JSON.parse(json) as CachedResult;
    } catch {
      // Not an entry this gateway wrote (or a torn one): a miss, and the fresh result replaces it.
      return undefined;
    }
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
