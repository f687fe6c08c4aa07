import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { GENERATE, postJson, startHarness, type Harness } from "./support/harness.js";
import { pollJob, readJob, submitJob } from "./support/jobs.js";
import { redisAvailable, startRedis, type TestRedis } from "./support/redis.js";
import { waitFor } from "./support/wait.js";

const TEXT = { model: "Kwai-Kolors/Kolors", prompt: "the job", imageSize: "768x1024" };

/** A replica stopped (SIGTERM's path, `gateway.close`) with jobs in hand, while another shares its Redis. */
describe.skipIf(!redisAvailable)("a worker replica that shuts down with jobs in hand", () => {
  let redis: TestRedis;
  const harnesses: Harness[] = [];

  beforeEach(async () => {
    redis = await startRedis();
  });
  afterEach(async () => {
    for (const h of harnesses.splice(0)) await h.close();
    await redis.kill();
  });

  const start = async (config: Record<string, unknown>) => {
    const h = await startHarness({ config: { redisUrl: redis.url, shutdownTimeoutMs: 500, jobs: { lockMs: 1_000, stalledIntervalMs: 500, ...(config.jobs as object) }, ...config } });
    harnesses.push(h);
    return h;
  };

  it("a job cut after its send, at the shutdown deadline, gets its line and ends UPSTREAM_INTERRUPTED; it is not sent again", async () => {
    const a = await start({});
    const b = await start({ jobs: { workers: false } });
    a.simulator.addFault({ fault: { kind: "hang" }, times: 1 });
    const id = (await submitJob(a.graphqlUrl, TEXT)).body.data!.submitGeneration.id;
    await waitFor(async () => (a.simulator.received.length === 1 ? true : undefined), 10_000);

    await a.gateway.close();
    const job = await readJob(b.graphqlUrl, id);
    expect(job).toMatchObject({ status: "FAILED", error: { code: "UPSTREAM_INTERRUPTED" } });
    expect(job!.error!.message).toMatch(/may have run and been billed/);
    const lines = (await a.logLines()).filter((line) => line.job_id === id);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ status: "failed", error_code: "UPSTREAM_INTERRUPTED", upstream_attempts: 1 });
    expect(a.simulator.received).toHaveLength(1);
  }, 30_000);

  it("a job cut before its send goes back to the queue, and another replica runs it, sent once", async () => {
    const a = await start({ siliconflow: { maxConcurrency: 1 } });
    // A generateImages holds the only upstream slot: the job waits for it.
    a.simulator.addFault({ fault: { kind: "hang" }, times: 1 });
    const holding = postJson(a.graphqlUrl, GENERATE, { input: { ...TEXT, prompt: "holds the slot" } }).catch(() => undefined);
    await waitFor(async () => (a.simulator.received.length === 1 ? true : undefined), 10_000);
    const id = (await submitJob(a.graphqlUrl, TEXT)).body.data!.submitGeneration.id;
    await pollJob(a.graphqlUrl, id, ["RUNNING"], 10_000);

    const b = await start({ jobs: { workers: false } });
    await a.gateway.close();
    await holding;
    // Back in the queue, with nothing written for it yet.
    expect(await readJob(b.graphqlUrl, id)).toMatchObject({ status: "QUEUED", startedAt: null, queuePosition: 0 });
    expect((await a.logLines()).filter((line) => line.job_id === id)).toEqual([]);

    const c = await start({});
    const done = await pollJob(c.graphqlUrl, id, ["SUCCEEDED", "FAILED"], 20_000);
    expect(done.status).toBe("SUCCEEDED");
    expect(a.simulator.received.map((r) => r.body.prompt)).toEqual(["holds the slot"]);
    expect(c.simulator.received.map((r) => r.body.prompt)).toEqual(["the job"]);
    expect((await c.logLines()).filter((line) => line.job_id === id)).toHaveLength(1);
  }, 30_000);
});
