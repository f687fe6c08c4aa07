import { afterEach, describe, expect, it } from "vitest";
import { postJson, startHarness, type Harness } from "./support/harness.js";
import { CANCEL, JOB, pollJob, submitJob } from "./support/jobs.js";
import { redisAvailable, startRedis, type TestRedis } from "./support/redis.js";
import { waitFor } from "./support/wait.js";

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

  it("a job whose Redis goes away while SiliconFlow generates it has its line written at once, and its SUCCEEDED end saved when Redis is back", async () => {
    redis = await startRedis();
    const appLog: string[] = [];
    h = await startHarness({ config: { redisUrl: redis.url, shutdownTimeoutMs: 1_000 }, appLog: { write: (text) => void appLog.push(text) } });
    h.simulator.addFault({ fault: { kind: "latency", ms: 1_500 }, times: 1 });
    const { body } = await submitJob(h.graphqlUrl, TEXT);
    const id = body.data!.submitGeneration.id;
    await pollJob(h.graphqlUrl, id, ["RUNNING"]);
    await waitFor(() => Promise.resolve(h!.simulator.received.length === 1 ? true : undefined));
    // Gone while the upstream call is under way; back empty (nothing persisted), as a replaced Redis would be.
    await redis.kill();
    const line = await waitFor(async () => (await h!.logLines()).find((entry) => entry.job_id === id), 10_000);
    expect(line).toMatchObject({ status: "success", upstream_attempts: 1 });
    // Its end could not be saved: Redis is down for longer than the client's retries.
    await waitFor(() => Promise.resolve(appLog.find((text) => text.includes(`the state SUCCEEDED of job ${id} could not be saved`))), 10_000);
    await redis.restart();
    const done = await pollJob(h.graphqlUrl, id, ["SUCCEEDED", "FAILED"], 15_000);
    expect(done).toMatchObject({ status: "SUCCEEDED", error: null });
    expect(done.result!.callId).toBe(line.call_id);
    expect(h.simulator.received).toHaveLength(1);
    expect((await h.logLines()).filter((entry) => entry.job_id === id)).toHaveLength(1);
  });

  it("/metrics answers at once while Redis is down, without the queue depth it cannot read, and has it again when Redis is back", async () => {
    redis = await startRedis();
    h = await startHarness({ config: { redisUrl: redis.url, shutdownTimeoutMs: 1_000, jobs: { workers: false } } });
    for (const prompt of ["one", "two"]) expect((await submitJob(h.graphqlUrl, { ...TEXT, prompt })).body.errors).toBeUndefined();
    const scrape = async () => {
      const response = await fetch(`${h!.url}/metrics`, { signal: AbortSignal.timeout(5_000) });
      expect(response.status).toBe(200);
      return response.text();
    };
    expect(await scrape()).toContain('siliconflow_gateway_job_queue_depth{state="waiting"} 2');
    await redis.kill();
    const during = await scrape();
    expect(during).toContain("siliconflow_gateway_jobs_total");
    expect(during).not.toContain("siliconflow_gateway_job_queue_depth{");
    await redis.restart();
    await waitFor(async () => ((await scrape()).includes('siliconflow_gateway_job_queue_depth{state="waiting"} 0') ? true : undefined), 10_000);
  });
});
