import { afterEach, describe, expect, it } from "vitest";
import { postJson, startHarness, type Harness } from "./support/harness.js";
import { CANCEL, JOB, pollJob, submitJob } from "./support/jobs.js";
import { redisAvailable, startRedis, type TestRedis } from "./support/redis.js";

const TEXT = { model: "Kwai-Kolors/Kolors", prompt: "a lighthouse at dusk", imageSize: "768x1024" };
const JOB_ID = "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b";

describe.skipIf(!redisAvailable)("generation jobs while their Redis is down", () => {
  let redis: TestRedis | undefined;
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
    await redis?.kill();
  });

  it("submitGeneration, generationJob and cancelGeneration answer 503 JOBS_UNAVAILABLE (not INTERNAL_SERVER_ERROR, no Redis client's message), the refusal has its line, nothing is sent; with Redis back, jobs run", async () => {
    redis = await startRedis();
    h = await startHarness({ config: { redisUrl: redis.url, shutdownTimeoutMs: 1_000 } });
    await redis.kill();

    for (const key of [undefined, "order-7"]) {
      const { status, body } = await submitJob(h.graphqlUrl, TEXT, { key });
      expect(status).toBe(503);
      expect(body.errors?.[0]?.extensions).toMatchObject({ code: "JOBS_UNAVAILABLE" });
      expect(body.errors?.[0]?.message).toMatch(/cannot reach the store of its generation jobs \(Redis\) now; nothing was queued or sent/);
      expect(body.errors?.[0]?.message).not.toMatch(/maxRetriesPerRequest|ECONNREFUSED/);
    }
    const read = await postJson(h.graphqlUrl, JOB, { id: JOB_ID });
    expect(read.status).toBe(503);
    expect(read.body.errors?.[0]?.extensions).toMatchObject({ code: "JOBS_UNAVAILABLE" });
    const cancel = await postJson(h.graphqlUrl, CANCEL, { id: JOB_ID });
    expect(cancel.body.errors?.[0]?.extensions).toMatchObject({ code: "JOBS_UNAVAILABLE" });

    const lines = await h.logLines();
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line).toMatchObject({ status: "failed", error_code: "JOBS_UNAVAILABLE", upstream_attempts: 0, job_id: null });
    expect(h.simulator.received).toHaveLength(0);

    await redis.restart();
    const again = await submitJob(h.graphqlUrl, TEXT, { key: "order-7" });
    expect(again.body.errors).toBeUndefined();
    const done = await pollJob(h.graphqlUrl, again.body.data!.submitGeneration.id, ["SUCCEEDED", "FAILED"]);
    expect(done.status).toBe("SUCCEEDED");
    expect(h.simulator.received).toHaveLength(1);
  });
});
