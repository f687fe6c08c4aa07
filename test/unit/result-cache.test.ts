import { describe, expect, it } from "vitest";
import { MemoryResultCache, resultCacheKey, type CachedResult } from "../../src/storage/result-cache.js";

const fields = { model: "Kwai-Kolors/Kolors", prompt: "a lighthouse", seed: 42, image_size: "1024x1024" };

function result(seed: number): CachedResult {
  return { images: [], outputs: [], seed, timings: {}, inputs: [] };
}

describe("resultCacheKey", () => {
  it("is the same for the same fields in any order and the same input bytes", () => {
    const reordered = { seed: 42, image_size: "1024x1024", prompt: "a lighthouse", model: "Kwai-Kolors/Kolors" };
    const input = Buffer.from("picture bytes");
    expect(resultCacheKey(fields, [input])).toBe(resultCacheKey(reordered, [Buffer.from("picture bytes")]));
  });

  it("changes with any field value, the seed included", () => {
    const base = resultCacheKey(fields, []);
    expect(resultCacheKey({ ...fields, seed: 43 }, [])).not.toBe(base);
    expect(resultCacheKey({ ...fields, prompt: "a lighthouse." }, [])).not.toBe(base);
    expect(resultCacheKey({ ...fields, batch_size: 2 }, [])).not.toBe(base);
  });

  it("tells a number from a string of the same digits", () => {
    expect(resultCacheKey({ ...fields, seed: 42 }, [])).not.toBe(resultCacheKey({ ...fields, seed: "42" }, []));
  });

  it("changes with input bytes, their order and their count", () => {
    const a = Buffer.from("first image");
    const b = Buffer.from("second image");
    const ab = resultCacheKey(fields, [a, b]);
    expect(resultCacheKey(fields, [b, a])).not.toBe(ab);
    expect(resultCacheKey(fields, [a])).not.toBe(ab);
    expect(resultCacheKey(fields, [a, Buffer.from("second imagf")])).not.toBe(ab);
    // Inputs are hashed one by one: moving bytes across the boundary of two inputs is a different call.
    expect(resultCacheKey(fields, [Buffer.from("first imag"), Buffer.from("esecond image")])).not.toBe(ab);
  });

  it("cannot be forged by a field value that looks like another field", () => {
    const split = resultCacheKey({ prompt: 'a","seed":1', model: "m" }, []);
    const joined = resultCacheKey({ prompt: "a", seed: 1, model: "m" }, []);
    expect(split).not.toBe(joined);
  });
});

describe("MemoryResultCache", () => {
  it("keeps at most maxEntries, dropping the least recently used", async () => {
    const cache = new MemoryResultCache({ maxEntries: 2, ttlMs: 60_000 });
    await cache.set("a", result(1));
    await cache.set("b", result(2));
    expect((await cache.get("a"))?.seed).toBe(1);
    await cache.set("c", result(3));
    expect(await cache.get("b")).toBeUndefined();
    expect((await cache.get("a"))?.seed).toBe(1);
    expect((await cache.get("c"))?.seed).toBe(3);
    await cache.delete("a");
    expect(await cache.get("a")).toBeUndefined();
  });
});
