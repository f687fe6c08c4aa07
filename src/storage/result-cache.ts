import { createHash } from "node:crypto";
import { LRUCache } from "lru-cache";
import type { ImageTrace } from "../call-log/call-trace.js";
import type { StoredImage } from "./image-store.js";

export interface CachedResult {
  images: StoredImage[];
  /** Log previews and upstream URLs of the first run, so a hit's line describes the same images. */
  outputs: Array<Pick<ImageTrace, "base64Preview" | "upstreamUrl">>;
  seed: number | null;
  timings: Record<string, number>;
  inputs: ImageTrace[];
}

export interface ResultCacheOptions {
  maxEntries: number;
  ttlMs: number;
}

/**
 * Results of seeded calls. Same model, same parameters sent upstream and the same input bytes give
 * the same picture, so a repeat is answered from here and SiliconFlow is not paid twice. Only the
 * metadata lives in memory; the images themselves are in the image store.
 */
export class ResultCache {
  private readonly entries: LRUCache<string, CachedResult>;

  constructor(options: ResultCacheOptions) {
    this.entries = new LRUCache({ max: options.maxEntries, ttl: options.ttlMs });
  }

  static key(upstreamFields: Record<string, string | number>, inputs: readonly Buffer[]): string {
    const hash = createHash("sha256");
    const sorted = Object.keys(upstreamFields)
      .sort()
      .map((k) => [k, upstreamFields[k]]);
    hash.update(JSON.stringify(sorted));
    for (const input of inputs) hash.update(createHash("sha256").update(input).digest());
    return hash.digest("hex");
  }

  get(key: string): CachedResult | undefined {
    return this.entries.get(key);
  }

  set(key: string, result: CachedResult): void {
    this.entries.set(key, result);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}
