import { describe, expect, it } from "vitest";
import { GENERATE, postJson, startHarness } from "./support/harness.js";
import { redisAvailable, startRedis } from "./support/redis.js";

const textToImage = { model: "Qwen/Qwen-Image", prompt: "a kite" };

describe("guards", () => {
  it("bounds upstream concurrency with a bounded queue: full → RATE_LIMITED", async () => {
    const h = await startHarness({ config: { siliconflow: { maxConcurrency: 1, maxQueue: 1 } }, simulator: { latencyMs: 400 } });
    try {
      const results = await Promise.all([0, 1, 2, 3].map((i) => postJson(h.graphqlUrl, GENERATE, { input: { ...textToImage, seed: i } })));
      const codes = results.map((r) => r.body.errors?.[0]?.extensions?.code ?? "OK").sort();
      expect(codes).toEqual(["OK", "OK", "RATE_LIMITED", "RATE_LIMITED"]);
      const limited = results.find((r) => r.body.errors)!.body.errors![0];
      expect(limited!.extensions?.retryAfterSeconds).toBeGreaterThan(0);
      expect(h.simulator.received).toHaveLength(2);
    } finally {
      await h.close();
    }
  });

  it("refuses a call that waited too long for a slot", async () => {
    const h = await startHarness({ config: { siliconflow: { maxConcurrency: 1, maxQueue: 5, queueTimeoutMs: 100 } }, simulator: { latencyMs: 600 } });
    try {
      const results = await Promise.all([0, 1].map((i) => postJson(h.graphqlUrl, GENERATE, { input: { ...textToImage, seed: i } })));
      const refused = results.find((r) => r.body.errors)!;
      expect(refused.body.errors![0]!.extensions?.code).toBe("RATE_LIMITED");
      expect(refused.body.errors![0]!.message).toMatch(/waited 100 ms/);
    } finally {
      await h.close();
    }
  });

  it("an images-per-minute budget per model refuses before spending", async () => {
    const h = await startHarness({ config: { limits: { imagesPerMinute: { "Kwai-Kolors/Kolors": 3 } } } });
    try {
      const first = await postJson(h.graphqlUrl, GENERATE, { input: { model: "Kwai-Kolors/Kolors", prompt: "x", batchSize: 2 } });
      expect(first.body.errors).toBeUndefined();
      const before = h.simulator.received.length;
      const second = await postJson(h.graphqlUrl, GENERATE, { input: { model: "Kwai-Kolors/Kolors", prompt: "x", batchSize: 2 } });
      expect(second.body.errors?.[0]?.extensions).toMatchObject({ code: "RATE_LIMITED" });
      expect(second.body.errors?.[0]?.extensions?.retryAfterSeconds).toBeGreaterThan(0);
      expect(h.simulator.received.length).toBe(before);
      const other = await postJson(h.graphqlUrl, GENERATE, { input: textToImage });
      expect(other.body.errors).toBeUndefined();
    } finally {
      await h.close();
    }
  });

  it("per-client limits count by token; defaults refuse no ordinary burst", async () => {
    const h = await startHarness({ config: { auth: { tokens: ["alpha-token-123", "beta-token-456"] }, rateLimit: { callsPerWindow: 2, windowSeconds: 60 } } });
    try {
      const as = (token: string) => ({ authorization: `Bearer ${token}` });
      const alpha = await Promise.all([0, 1, 2].map(() => postJson(h.graphqlUrl, GENERATE, { input: textToImage }, as("alpha-token-123"))));
      expect(alpha.map((r) => r.body.errors?.[0]?.extensions?.code ?? "OK")).toEqual(expect.arrayContaining(["OK", "OK", "RATE_LIMITED"]));
      const beta = await postJson(h.graphqlUrl, GENERATE, { input: textToImage }, as("beta-token-456"));
      expect(beta.body.errors).toBeUndefined();
    } finally {
      await h.close();
    }
    const defaults = await startHarness();
    try {
      const burst = await Promise.all(Array.from({ length: 40 }, (_, i) => postJson(defaults.graphqlUrl, GENERATE, { input: { ...textToImage, seed: i } })));
      expect(burst.filter((r) => r.body.errors)).toHaveLength(0);
    } finally {
      await defaults.close();
    }
  });
});

describe("rate-limit counters shared through Redis", () => {
  // REDIS_URL is the setting; RATE_LIMIT_REDIS_URL, its older name, keeps working.
  it.skipIf(!redisAvailable).each(["REDIS_URL", "RATE_LIMIT_REDIS_URL"])("two gateways share one client's budget (%s)", async (name) => {
    const redis = await startRedis();
    try {
      const options = { env: { [name]: redis.url }, config: { rateLimit: { callsPerWindow: 3, windowSeconds: 60 } } };
      const [one, two] = await Promise.all([startHarness(options), startHarness(options)]);
      try {
        const codes: string[] = [];
        for (const h of [one, two, one, two]) {
          const { body } = await postJson(h.graphqlUrl, GENERATE, { input: textToImage });
          codes.push((body.errors?.[0]?.extensions?.code as string | undefined) ?? "OK");
        }
        expect(codes).toEqual(["OK", "OK", "OK", "RATE_LIMITED"]);
      } finally {
        await Promise.all([one.close(), two.close()]);
      }
    } finally {
      await redis.kill();
    }
  });
});
