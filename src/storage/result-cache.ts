import { createHash } from "node:crypto";
import { LRUCache } from "lru-cache";
import type { ImageTrace } from "../call-log/call-trace.js";
import type { StoredImage } from "./image-store.js";

/** What a seeded call is answered with again: references to the stored images and what the first run recorded, never image bytes. */
export interface CachedResult {
  images: StoredImage[];
  /** Log previews and upstream URLs of the first run, so a hit's line describes the same images. */
  outputs: Array<Pick<ImageTrace, "base64Preview" | "upstreamUrl">>;
  seed: number | null;
  timings: Record<string, number>;
  inputs: ImageTrace[];
}

/**
 * Results of seeded calls. Same model, same parameters sent upstream and the same input bytes give
 * the same picture, so a repeat is answered from here and SiliconFlow is not paid twice. Only the
 * metadata is kept; the images themselves are in the image store.
 *
 * A backend never fails a call: a cache it cannot reach misses, and a result it cannot keep is not kept.
 */
export interface ResultCache {
  get(key: string): Promise<CachedResult | undefined>;
  /**
   * The entry for `key`, waiting first for a call in flight for it (on any replica sharing this cache), or
   * the key claimed for this call: `release` must then be called once the call is over, whatever its outcome,
   * and a caller waiting on it finds the result or claims the key in turn.
   */
  claim(key: string): Promise<CacheClaim>;
  set(key: string, result: CachedResult): Promise<void>;
  delete(key: string): Promise<void>;
}

export type CacheClaim = { result: CachedResult; release?: undefined } | { result?: undefined; release: () => Promise<void> };

export function resultCacheKey(upstreamFields: Record<string, string | number>, inputs: readonly Buffer[]): string {
  const hash = createHash("sha256");
  const sorted = Object.keys(upstreamFields)
    .sort()
    .map((k) => [k, upstreamFields[k]]);
  hash.update(JSON.stringify(sorted));
  for (const input of inputs) hash.update(createHash("sha256").update(input).digest());
  return hash.digest("hex");
}

export interface MemoryResultCacheOptions {
  maxEntries: number;
  ttlMs: number;
}

/** One process's cache: least recently used entries go past `maxEntries`. */
export class MemoryResultCache implements ResultCache {
  private readonly entries: LRUCache<string, CachedResult>;
  /** Keys with a call in flight, and when it is over. */
  private readonly running = new Map<string, Promise<void>>();

  constructor(options: MemoryResultCacheOptions) {
    this.entries = new LRUCache({ max: options.maxEntries, ttl: options.ttlMs });
  }

  async claim(key: string): Promise<CacheClaim> {
    for (;;) {
      const result = this.entries.get(key);
      if (result) return { result };
      const running = this.running.get(key);
      if (!running) break;
      await running;
    }
    let over!: () => void;
    this.running.set(key, new Promise((resolve) => (over = resolve)));
    return {
      release: () => {
        this.running.delete(key);
        over();
        return Promise.resolve();
      },
    };
  }

  get(key: string): Promise<CachedResult | undefined> {
    return Promise.resolve(this.entries.get(key));
  }

  set(key: string, result: CachedResult): Promise<void> {
    this.entries.set(key, result);
    return Promise.resolve();
  }

  delete(key: string): Promise<void> {
    this.entries.delete(key);
    return Promise.resolve();
  }
}
