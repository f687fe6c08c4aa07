import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { postJson, startHarness, type Harness } from "./support/harness.js";
import { CANCEL, submitJob } from "./support/jobs.js";
import { redisAvailable, startRedis, type TestRedis } from "./support/redis.js";

const TEXT = { model: "Kwai-Kolors/Kolors", prompt: "a lighthouse at dusk", imageSize: "768x1024" };
const A = { authorization: "Bearer token-aaaa-0001" };
const B = { authorization: "Bearer token-bbbb-0002" };

type Engine = "memory" | "bullmq";
const engines: Engine[] = redisAvailable ? ["memory", "bullmq"] : ["memory"];

describe.each(engines)("bounds on generation jobs on the %s engine", (engine) => {
  let redis: TestRedis | undefined;
  let h: Harness | undefined;

  beforeEach(async () => {
    if (engine === "bullmq") redis = await startRedis();
  });
  afterEach(async () => {
    await h?.close();
    h = undefined;
    await redis?.kill();
    redis = undefined;
  });

  const start = (config: Record<string, unknown> = {}) =>
    startHarness({ config: { ...(redis ? { redisUrl: redis.url } : {}), shutdownTimeoutMs: 2_000, auth: { tokens: ["token-aaaa-0001", "token-bbbb-0002"] }, ...config } });

  it("a client past GATEWAY_MAX_QUEUED_JOBS_PER_CLIENT, and everyone past GATEWAY_MAX_QUEUED_JOBS, is refused TOO_MANY_JOBS with nothing queued; an ended job frees its place", async () => {
    // No worker: every job stays QUEUED, as behind a long queue.
    h = await start({ jobs: { workers: false, maxQueuedPerClient: 2, maxQueued: 3 } });
    const ok = async (headers: Record<string, string>) => {
      const { body } = await submitJob(h!.graphqlUrl, TEXT, { headers });
      expect(body.errors).toBeUndefined();
      return body.data!.submitGeneration;
    };
    const first = await ok(A);
    await ok(A);
    const third = await submitJob(h.graphqlUrl, TEXT, { headers: A });
    expect(third.body.errors?.[0]?.extensions).toMatchObject({ code: "TOO_MANY_JOBS" });
    expect(third.body.errors?.[0]?.message).toMatch(/this client has 2 generation jobs queued or running/);

    // Another client has places of its own, up to the gateway's.
    await ok(B);
    const overall = await submitJob(h.graphqlUrl, TEXT, { headers: B });
    expect(overall.body.errors?.[0]?.extensions).toMatchObject({ code: "TOO_MANY_JOBS" });
    expect(overall.body.errors?.[0]?.message).toMatch(/the gateway has 3 generation jobs queued or running/);

    // Many at once cannot pass the cap together.
    const burst = await Promise.all(Array.from({ length: 10 }, () => submitJob(h!.graphqlUrl, TEXT, { headers: A })));
    expect(burst.every((r) => r.body.errors?.[0]?.extensions?.code === "TOO_MANY_JOBS")).toBe(true);

    const cancelled = await postJson(h.graphqlUrl, CANCEL, { id: first.id }, A);
    expect(cancelled.body.errors).toBeUndefined();
    await ok(A);
    expect(h.simulator.received).toHaveLength(0);

    const refused = (await h.logLines()).filter((line) => line.error_code === "TOO_MANY_JOBS");
    expect(refused).toHaveLength(12);
  });

  it("submissions count toward the per-client calls per window (RATE_LIMITED, nothing queued); a repeat of an idempotency key is answered without counting", async () => {
    h = await start({ jobs: { workers: false }, rateLimit: { callsPerWindow: 2, windowSeconds: 60 } });
    const first = await submitJob(h.graphqlUrl, TEXT, { key: "order-1", headers: A });
    expect(first.body.errors).toBeUndefined();
    expect((await submitJob(h.graphqlUrl, TEXT, { headers: A })).body.errors).toBeUndefined();
    const third = await submitJob(h.graphqlUrl, TEXT, { headers: A });
    expect(third.body.errors?.[0]?.extensions).toMatchObject({ code: "RATE_LIMITED" });
    const repeat = await submitJob(h.graphqlUrl, TEXT, { key: "order-1", headers: A });
    expect(repeat.body.data?.submitGeneration.id).toBe(first.body.data!.submitGeneration.id);
    // Counted per client: another token still submits.
    expect((await submitJob(h.graphqlUrl, TEXT, { headers: B })).body.errors).toBeUndefined();
    expect(h.simulator.received).toHaveLength(0);
  });
});
