import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson, startHarness, type Harness } from "./support/harness.js";
import { freePort } from "./support/loopback.js";
import { redisAvailable, startRedis, type TestRedis } from "./support/redis.js";
import { waitFor } from "./support/wait.js";

const GENERATE_CACHED = /* GraphQL */ `
  mutation Generate($input: GenerateImagesInput!) {
    generateImages(input: $input) { callId cacheHit seed images { url bytes } }
  }
`;
const HEALTH = /* GraphQL */ `{ health { status upstream { reachable } sharedState { available error } } }`;

interface Payload {
  generateImages: { callId: string; cacheHit: boolean; seed: number; images: Array<{ url: string; bytes: number }> };
}
interface HealthPayload {
  health: { status: string; upstream: { reachable: boolean }; sharedState: { available: boolean; error: string | null } | null };
}

const TTL_MS = 120_000;
const seeded = (prompt: string, seed: number) => ({ input: { model: "Qwen/Qwen-Image", prompt, seed } });

function collector(): { lines: string[]; write(line: string): void; matching(text: string): string[] } {
  const lines: string[] = [];
  return { lines, write: (line) => void lines.push(line), matching: (text) => lines.filter((line) => line.includes(text)) };
}

const OUTAGE = "shared state (Redis) unavailable";
const RECOVERY = "shared state (Redis) reachable again";

describe.skipIf(!redisAvailable)("state shared by several replicas through Redis (REDIS_URL)", () => {
  let redis: TestRedis;
  let dataDir: string;
  let one: Harness;
  let two: Harness;
  beforeAll(async () => {
    redis = await startRedis();
    dataDir = await mkdtemp(path.join(tmpdir(), "gateway-shared-data-"));
    // Two replicas, each with its own upstream (so who was called is plain), and one image folder.
    const options = { env: { REDIS_URL: redis.url }, config: { dataDir, cache: { ttlMs: TTL_MS } } };
    [one, two] = await Promise.all([startHarness(options), startHarness(options)]);
  });
  afterAll(async () => {
    await Promise.all([one?.close(), two?.close()]);
    await redis?.kill();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("a seeded repeat on the other replica is a cache hit, with no upstream call; Redis holds references, expiring with the TTL", async () => {
    const first = await postJson<Payload>(one.graphqlUrl, GENERATE_CACHED, seeded("a shared harbour", 4242));
    expect(first.body.errors).toBeUndefined();
    expect(first.body.data!.generateImages.cacheHit).toBe(false);
    expect(one.simulator.received).toHaveLength(1);

    const repeat = await postJson<Payload>(two.graphqlUrl, GENERATE_CACHED, seeded("a shared harbour", 4242));
    expect(repeat.body.data!.generateImages).toMatchObject({ cacheHit: true, seed: 4242 });
    expect(two.simulator.received).toHaveLength(0);
    expect(one.simulator.received).toHaveLength(1);
    const image = await fetch(repeat.body.data!.generateImages.images[0]!.url);
    expect(image.status).toBe(200);
    expect(Buffer.from(await image.arrayBuffer()).length).toBe(first.body.data!.generateImages.images[0]!.bytes);
    const line = (await two.logLines()).find((l) => l.call_id === repeat.body.data!.generateImages.callId);
    expect(line).toMatchObject({ status: "success", cache_hit: true, seed_used: 4242 });

    const client = new Redis(redis.url);
    try {
      const keys = await client.keys("gw-result:*");
      expect(keys).toHaveLength(1);
      const entry = (await client.get(keys[0]!))!;
      // Names and metadata only: the image itself is far larger than the whole entry.
      expect(entry.length).toBeLessThan(2_000);
      expect(entry.length).toBeLessThan(first.body.data!.generateImages.images[0]!.bytes);
      expect(JSON.parse(entry)).toMatchObject({ seed: 4242, images: [{ fileName: expect.stringMatching(/^[a-f0-9]{64}\.png$/) as string }] });
      const ttl = await client.pttl(keys[0]!);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(TTL_MS);
    } finally {
      client.disconnect();
    }
  });
});

describe.skipIf(!redisAvailable)("Redis down: generation goes on", () => {
  it("the cache misses, health says DEGRADED with the reason, /health stays 200, the outage is logged once and so is the recovery", async () => {
    const redis = await startRedis();
    const appLog = collector();
    const h = await startHarness({
      env: { REDIS_URL: redis.url },
      config: { health: { probeCacheMs: 0 }, rateLimit: { callsPerWindow: 100 } },
      appLog,
    });
    try {
      const up = await postJson<HealthPayload>(h.graphqlUrl, HEALTH);
      expect(up.body.data!.health).toMatchObject({ status: "OK", sharedState: { available: true, error: null } });

      await redis.kill();
      const started = performance.now();
      for (let i = 0; i < 4; i++) {
        const { body } = await postJson<Payload>(h.graphqlUrl, GENERATE_CACHED, seeded("through an outage", 7));
        expect(body.errors).toBeUndefined();
        // Nothing to answer from: each call is a miss and goes upstream.
        expect(body.data!.generateImages.cacheHit).toBe(false);
      }
      expect(performance.now() - started).toBeLessThan(5_000);
      expect(h.simulator.received).toHaveLength(4);

      const down = await postJson<HealthPayload>(h.graphqlUrl, HEALTH);
      expect(down.body.data!.health.status).toBe("DEGRADED");
      expect(down.body.data!.health.upstream.reachable).toBe(true);
      expect(down.body.data!.health.sharedState!.available).toBe(false);
      expect(down.body.data!.health.sharedState!.error).toMatch(/\S/);
      // Anyone may ask the health query: the reason does not give Redis's address away.
      expect(down.body.data!.health.sharedState!.error).not.toContain(String(redis.port));
      expect((await fetch(`${h.url}/health`)).status).toBe(200);
      expect(appLog.matching(OUTAGE)).toHaveLength(1);

      await redis.restart();
      await waitFor(async () => (appLog.matching(RECOVERY).length > 0 ? true : undefined), 10_000);
      const again = await postJson<HealthPayload>(h.graphqlUrl, HEALTH);
      expect(again.body.data!.health).toMatchObject({ status: "OK", sharedState: { available: true, error: null } });
      await postJson<Payload>(h.graphqlUrl, GENERATE_CACHED, seeded("after the outage", 8));
      const hit = await postJson<Payload>(h.graphqlUrl, GENERATE_CACHED, seeded("after the outage", 8));
      expect(hit.body.data!.generateImages.cacheHit).toBe(true);
      expect(appLog.matching(OUTAGE)).toHaveLength(1);
      expect(appLog.matching(RECOVERY)).toHaveLength(1);
    } finally {
      await h.close();
      await redis.kill();
    }
  });

  it("a hung Redis (stopped, not gone) does not hang calls: each command gives up within its timeout", async () => {
    const redis = await startRedis();
    const appLog = collector();
    const h = await startHarness({ env: { REDIS_URL: redis.url }, config: { rateLimit: { callsPerWindow: 100 } }, appLog });
    try {
      redis.process.kill("SIGSTOP");
      const started = performance.now();
      const { body } = await postJson<Payload>(h.graphqlUrl, GENERATE_CACHED, seeded("a frozen store", 9));
      expect(body.errors).toBeUndefined();
      expect(body.data!.generateImages.cacheHit).toBe(false);
      // Rate limit, cache read and cache write: three bounded waits at most, not a hang.
      expect(performance.now() - started).toBeLessThan(4_000);
      expect(appLog.matching(OUTAGE)).toHaveLength(1);
    } finally {
      redis.process.kill("SIGCONT");
      await h.close();
      await redis.kill();
    }
  });

  it("REDIS_URL set but Redis never up: the gateway starts, generates, and says DEGRADED", async () => {
    const port = await freePort();
    const appLog = collector();
    const h = await startHarness({ env: { REDIS_URL: `redis://127.0.0.1:${port}` }, config: { rateLimit: { callsPerWindow: 2 } }, appLog });
    try {
      for (let i = 0; i < 2; i++) {
        const { body } = await postJson<Payload>(h.graphqlUrl, GENERATE_CACHED, seeded("no redis at all", 11));
        expect(body.errors).toBeUndefined();
        expect(body.data!.generateImages.cacheHit).toBe(false);
      }
      // The limits still hold, counted in this process.
      const third = await postJson<Payload>(h.graphqlUrl, GENERATE_CACHED, seeded("no redis at all", 11));
      expect(third.body.errors?.[0]?.extensions?.code).toBe("RATE_LIMITED");
      const health = await postJson<HealthPayload>(h.graphqlUrl, HEALTH);
      expect(health.body.data!.health.status).toBe("DEGRADED");
      expect(health.body.data!.health.sharedState).toMatchObject({ available: false, error: expect.stringMatching(/ECONNREFUSED/) as string });
      expect(health.body.data!.health.sharedState!.error).not.toContain(String(port));
      expect((await fetch(`${h.url}/health`)).status).toBe(200);
      expect(appLog.matching(OUTAGE)).toHaveLength(1);
    } finally {
      await h.close();
    }
  });
});

describe.skipIf(!redisAvailable)("the same seeded call in flight on two replicas", () => {
  let redis: TestRedis;
  let dataDir: string;
  let one: Harness;
  let two: Harness;
  beforeAll(async () => {
    redis = await startRedis();
    dataDir = await mkdtemp(path.join(tmpdir(), "gateway-shared-data-"));
    // Slow enough upstream that the second call arrives while the first is in flight; a short timeout so a hung one fails soon.
    const options = { env: { REDIS_URL: redis.url }, config: { dataDir, siliconflow: { timeoutMs: 1_500, maxRetries: 0 } }, simulator: { latencyMs: 400 } };
    [one, two] = await Promise.all([startHarness(options), startHarness(options)]);
  });
  afterAll(async () => {
    await Promise.all([one?.close(), two?.close()]);
    await redis?.kill();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("is sent upstream once: the other replica waits for it and answers from its result", async () => {
    const [first, second] = await Promise.all([
      postJson<Payload>(one.graphqlUrl, GENERATE_CACHED, seeded("at the same moment", 31)),
      postJson<Payload>(two.graphqlUrl, GENERATE_CACHED, seeded("at the same moment", 31)),
    ]);
    expect(first.body.errors).toBeUndefined();
    expect(second.body.errors).toBeUndefined();
    expect(one.simulator.received.length + two.simulator.received.length).toBe(1);
    expect([first.body.data!.generateImages.cacheHit, second.body.data!.generateImages.cacheHit].sort()).toEqual([false, true]);
    expect(second.body.data!.generateImages.images[0]!.bytes).toBe(first.body.data!.generateImages.images[0]!.bytes);
  });

  it("on one replica too, and a call that fails lets the waiting one run its own", async () => {
    const same = await Promise.all([0, 1, 2].map(() => postJson<Payload>(one.graphqlUrl, GENERATE_CACHED, seeded("three at once", 32))));
    expect(same.map((r) => r.body.data!.generateImages.cacheHit).sort()).toEqual([false, true, true]);

    const upstreamBefore = two.simulator.received.length;
    one.simulator.addFault({ fault: { kind: "hang" }, times: 1 });
    const failing = postJson<Payload>(one.graphqlUrl, GENERATE_CACHED, seeded("the first one fails", 33));
    await waitFor(async () => (one.simulator.received.some((r) => JSON.stringify(r).includes("the first one fails")) ? true : undefined));
    const started = performance.now();
    const waiting = await postJson<Payload>(two.graphqlUrl, GENERATE_CACHED, seeded("the first one fails", 33));
    expect((await failing).body.errors?.[0]?.extensions?.code).toBe("UPSTREAM_TIMEOUT");
    expect(waiting.body.errors).toBeUndefined();
    expect(waiting.body.data!.generateImages.cacheHit).toBe(false);
    expect(two.simulator.received.length).toBe(upstreamBefore + 1);
    // It waited for the first call to give up before running its own.
    expect(performance.now() - started).toBeGreaterThan(800);
  });
});
