import { describe, expect, it } from "vitest";
import { ResultCache, type CachedResult } from "../../src/storage/result-cache.js";

const fields = { model: "Kwai-Kolors/Kolors", prompt: "a lighthouse", seed: 42, image_size: "1024x1024" };

function result(seed: number): CachedResult {
  return { images: [], outputs: [], seed, timings: {}, inputs: [] };
}

describe("ResultCache.key", () => {
  it("is the same for the same fields in any order and the same input bytes", () => {
    const reordered = { seed: 42, image_size: "1024x1024", prompt: "a lighthouse", model: "Kwai-Kolors/Kolors" };
    const input = Buffer.from("picture bytes");
    expect(ResultCache.key(fields, [input])).toBe(ResultCache.key(reordered, [Buffer.from("picture bytes")]));
  });

  it("changes with any field value, the seed included", () => {
    const base = ResultCache.key(fields, []);
    expect(ResultCache.key({ ...fields, seed: 43 }, [])).not.toBe(base);
    expect(ResultCache.key({ ...fields, prompt: "a lighthouse." }, [])).not.toBe(base);
    expect(ResultCache.key({ ...fields, batch_size: 2 }, [])).not.toBe(base);
  });

  it("tells a number from a string of the same digits", () => {
    expect(ResultCache.key({ ...fields, seed: 42 }, [])).not.toBe(ResultCache.key({ ...fields, seed: "42" }, []));
  });

  it("changes with input bytes, their order and their count", () => {
    const a = Buffer.from("first image");
    const b = Buffer.from("second image");
    const ab = ResultCache.key(fields, [a, b]);
    expect(ResultCache.key(fields, [b, a])).not.toBe(ab);
    expect(ResultCache.key(fields, [a])).not.toBe(ab);
    expect(ResultCache.key(fields, [a, Buffer.from("second imagf")])).not.toBe(ab);
    // Inputs are hashed one by one: moving bytes across the boundary of two inputs is a different call.
    expect(ResultCache.key(fields, [Buffer.from("first imag"), Buffer.from("esecond image")])).not.toBe(ab);
  });

  it("cannot be forged by a field value that looks like another field", () => {
    const split = ResultCache.key({ prompt: 'a","seed":1', model: "m" }, []);
    const joined = ResultCache.key({ prompt: "a", seed: 1, model: "m" }, []);
    expect(split).not.toBe(joined);
  });
});

describe("ResultCache", () => {
  it("keeps at most maxEntries, dropping the least recently used", () => {
    const cache = new ResultCache({ maxEntries: 2, ttlMs: 60_000 });
    cache.set("a", result(1));
    cache.set("b", result(2));
    expect(cache.get("a")?.seed).toBe(1);
    cache.set("c", result(3));
    expect(cache.get("b")).toBeUndefined();
    expect(cache.get("a")?.seed).toBe(1);
    expect(cache.get("c")?.seed).toBe(3);
    cache.delete("a");
    expect(cache.get("a")).toBeUndefined();
  });
});
