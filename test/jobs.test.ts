import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { GENERATE, imageSlots, multipartBody, postJson, startHarness, type Harness } from "./support/harness.js";
import { solidPng } from "./support/images.js";
import { CANCEL, JOB_FIELDS, pollJob, readJob, submitJob, SUBMIT, type Job } from "./support/jobs.js";
import { redisAvailable, startRedis, type TestRedis } from "./support/redis.js";
import { waitFor } from "./support/wait.js";

const TEXT = { model: "Kwai-Kolors/Kolors", prompt: "a lighthouse at dusk", imageSize: "768x1024" };

type Engine = "memory" | "bullmq";
const engines: Engine[] = redisAvailable ? ["memory", "bullmq"] : ["memory"];

describe.each(engines)("generation jobs on the %s engine", (engine) => {
  let redis: TestRedis | undefined;
  let h: Harness | undefined;

  // A Redis of its own for each test: a job one test leaves queued is not another's.
  beforeEach(async () => {
    if (engine === "bullmq") redis = await startRedis();
  });
  afterEach(async () => {
    await h?.close();
    h = undefined;
    await redis?.kill();
  });

  const start = (config: Record<string, unknown> = {}) =>
    startHarness({ config: { ...(redis ? { redisUrl: redis.url } : {}), shutdownTimeoutMs: 2_000, ...config } });

  it("answers QUEUED at once, then runs: SUCCEEDED with the generateImages payload, URLs that fetch, one upstream request, one log line", async () => {
    h = await start();
    const before = h.simulator.received.length;
    const submitted = performance.now();
    const { body } = await submitJob(h.graphqlUrl, { ...TEXT, batchSize: 2, seed: 7 }, { headers: { "x-request-id": "submit-req-1" } });
    const answeredMs = performance.now() - submitted;
    expect(body.errors).toBeUndefined();
    const job = body.data!.submitGeneration;
    expect(job).toMatchObject({ status: "QUEUED", model: TEXT.model, result: null, error: null, startedAt: null });
    // Set while QUEUED, even when a worker took the job the moment it was queued.
    expect(job.queuePosition).toBe(0);
    expect(answeredMs).toBeLessThan(1_000);

    const done = await pollJob(h.graphqlUrl, job.id, ["SUCCEEDED", "FAILED"]);
    expect(done.status).toBe("SUCCEEDED");
    expect(done.queuePosition).toBeNull();
    expect(Date.parse(done.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(done.startedAt!));
    expect(done.result!.images).toHaveLength(2);
    expect(done.result!.seed).toBe(7);
    for (const image of done.result!.images) {
      const response = await fetch(image.url);
      expect(response.status).toBe(200);
      expect((await response.arrayBuffer()).byteLength).toBe(image.bytes);
    }
    expect(h.simulator.received.length).toBe(before + 1);

    const lines = (await h.logLines()).filter((line) => line.job_id === job.id);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ status: "success", call_id: done.result!.callId, request_id: "submit-req-1", client_ip: "127.0.0.1", batch_size: 2, api: "graphql" });
    expect(lines[0]!.timing.job_queue_ms).toEqual(expect.any(Number));
    expect(lines[0]!.output_images).toHaveLength(2);

    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    for (const status of ["QUEUED", "RUNNING", "SUCCEEDED"]) expect(metrics).toContain(`siliconflow_gateway_jobs_total{status="${status}"} 1`);
    expect(metrics).toContain('siliconflow_gateway_job_queue_depth{state="waiting"} 0');
    expect(metrics).toContain("siliconflow_gateway_job_queue_wait_seconds_count 1");
  });

  it("an edit job keeps its prepared inputs in the store until it ends, then deletes them", async () => {
    h = await start();
    const upload = await solidPng(300, 200, "#123456");
    const response = await fetch(h.graphqlUrl, {
      method: "POST",
      headers: { "apollo-require-preflight": "true" },
      body: multipartBody(SUBMIT, { input: { model: "Qwen/Qwen-Image-Edit", prompt: "edit", images: imageSlots(1) } }, [{ path: "variables.input.images.0", data: upload, type: "image/png" }]),
    });
    const body = (await response.json()) as { data?: { submitGeneration: Job }; errors?: unknown };
    expect(body.errors).toBeUndefined();
    const done = await pollJob(h.graphqlUrl, body.data!.submitGeneration.id, ["SUCCEEDED", "FAILED"]);
    expect(done.status).toBe("SUCCEEDED");
    const sent = h.simulator.received.at(-1)!.body;
    expect(typeof sent.image).toBe("string");
    const line = (await h.logLines()).find((l) => l.job_id === done.id)!;
    expect(line.input_images).toHaveLength(1);
    expect(line.input_images[0]!.size).toEqual([300, 200]);
    expect(await readdir(path.join(h.dataDir, "job-inputs"))).toEqual([]);
  });

  it("bad input is refused at submission with generateImages's codes and a failed line; nothing is queued or sent", async () => {
    h = await start();
    const before = h.simulator.received.length;
    const unknown = await submitJob(h.graphqlUrl, { model: "no/such-model", prompt: "x" });
    expect(unknown.body.data).toBeNull();
    expect(unknown.body.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.model" });
    const tooMany = await submitJob(h.graphqlUrl, { ...TEXT, batchSize: 99 });
    expect(tooMany.body.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.batchSize" });
    const lines = await h.logLines();
    expect(lines.map((l) => [l.status, l.error_code, l.model])).toEqual([
      ["failed", "BAD_USER_INPUT", "no/such-model"],
      ["failed", "BAD_USER_INPUT", TEXT.model],
    ]);
    expect(h.simulator.received.length).toBe(before);
  });

  it("a caller's own SiliconFlow key is refused at submission: jobs run with the gateway's", async () => {
    h = await start({ auth: { allowClientApiKey: true } });
    const { body } = await submitJob(h.graphqlUrl, TEXT, { headers: { "x-siliconflow-api-key": "sk-callers-own-key-000000001" } });
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "x-siliconflow-api-key" });
    expect(h.simulator.received).toHaveLength(0);
  });

  it("submitGeneration counts toward the operation's generation cap", async () => {
    h = await start({ limits: { maxGenerationsPerRequest: 2 } });
    const aliases = [0, 1, 2].map((i) => `j${i}: submitGeneration(input: $input) { id }`).join("\n");
    const { body } = await postJson(h.graphqlUrl, `mutation Many($input: GenerateImagesInput!) { ${aliases} }`, { input: TEXT });
    expect(body.errors?.[0]?.message).toMatch(/at most 2 generateImages calls, this one has 3/);
    expect(h.simulator.received).toHaveLength(0);
  });

  it("the same idempotency key from the same client gives the same job and one upstream request; another client gets its own", async () => {
    h = await start({ auth: { tokens: ["token-aaaa-0001", "token-bbbb-0002"] } });
    const a = { authorization: "Bearer token-aaaa-0001" };
    const b = { authorization: "Bearer token-bbbb-0002" };
    const first = (await submitJob(h.graphqlUrl, TEXT, { key: "order-42", headers: a })).body.data!.submitGeneration;
    const again = (await submitJob(h.graphqlUrl, TEXT, { key: "order-42", headers: a })).body.data!.submitGeneration;
    expect(again.id).toBe(first.id);
    await pollJob(h.graphqlUrl, first.id, ["SUCCEEDED"], 20_000, a);
    const later = (await submitJob(h.graphqlUrl, TEXT, { key: "order-42", headers: a })).body.data!.submitGeneration;
    expect(later).toMatchObject({ id: first.id, status: "SUCCEEDED" });
    expect(h.simulator.received).toHaveLength(1);

    const other = (await submitJob(h.graphqlUrl, TEXT, { key: "order-42", headers: b })).body.data!.submitGeneration;
    expect(other.id).not.toBe(first.id);
    // A job is its token's: another token neither sees nor cancels it.
    expect(await readJob(h.graphqlUrl, first.id, b)).toBeNull();
    const cancel = await postJson(h.graphqlUrl, CANCEL, { id: first.id }, b);
    expect(cancel.body.errors?.[0]?.extensions).toMatchObject({ code: "JOB_NOT_FOUND" });
    const anonymous = await postJson(h.graphqlUrl, CANCEL, { id: first.id });
    expect(anonymous.body.errors?.[0]?.extensions).toMatchObject({ code: "UNAUTHENTICATED" });
    await pollJob(h.graphqlUrl, other.id, ["SUCCEEDED"], 20_000, b);
    expect(h.simulator.received).toHaveLength(2);

    // Two submissions with one key at the same moment: one job.
    const raced = await Promise.all([0, 1, 2].map(() => submitJob(h!.graphqlUrl, TEXT, { key: "race-1", headers: a })));
    const ids = new Set(raced.map((r) => r.body.data!.submitGeneration.id));
    expect(ids.size).toBe(1);
    await pollJob(h.graphqlUrl, [...ids][0]!, ["SUCCEEDED"], 20_000, a);
    expect(h.simulator.received).toHaveLength(3);
  });

  it("cancel: a QUEUED job becomes CANCELLED with nothing sent; a RUNNING one is refused with JOB_NOT_CANCELLABLE", async () => {
    h = await start({ jobs: { workerConcurrency: 1 } });
    // The first job holds the only worker for a while upstream.
    h.simulator.addFault({ fault: { kind: "latency", ms: 1_500 }, times: 1 });
    const running = (await submitJob(h.graphqlUrl, { ...TEXT, prompt: "first" })).body.data!.submitGeneration;
    await pollJob(h.graphqlUrl, running.id, ["RUNNING"]);
    const queued = (await submitJob(h.graphqlUrl, { ...TEXT, prompt: "second" })).body.data!.submitGeneration;
    expect(queued).toMatchObject({ status: "QUEUED", queuePosition: 0 });

    const cancelled = await postJson<{ cancelGeneration: Job }>(h.graphqlUrl, CANCEL, { id: queued.id });
    expect(cancelled.body.errors).toBeUndefined();
    expect(cancelled.body.data!.cancelGeneration).toMatchObject({ status: "CANCELLED", error: { code: "JOB_CANCELLED" } });
    const refused = await postJson(h.graphqlUrl, CANCEL, { id: running.id });
    expect(refused.body.errors?.[0]?.extensions).toMatchObject({ code: "JOB_NOT_CANCELLABLE", field: "id" });
    expect(refused.body.errors?.[0]?.message).toMatch(/RUNNING/);

    expect((await pollJob(h.graphqlUrl, running.id, ["SUCCEEDED"])).status).toBe("SUCCEEDED");
    expect(await readJob(h.graphqlUrl, queued.id)).toMatchObject({ status: "CANCELLED" });
    expect(h.simulator.received.map((r) => r.body.prompt)).toEqual(["first"]);
    // A cancelled job reached nobody: no line.
    expect((await h.logLines()).filter((l) => l.job_id === queued.id)).toEqual([]);
    const unknown = await postJson(h.graphqlUrl, `query { generationJob(id: "00000000-0000-0000-0000-000000000000") { ${JOB_FIELDS} } }`);
    expect(unknown.body.data).toEqual({ generationJob: null });
  });

  it("a job waits for a free upstream slot past SILICONFLOW_MAX_QUEUE and SILICONFLOW_QUEUE_TIMEOUT_MS, where generateImages is refused", async () => {
    h = await start({ siliconflow: { maxConcurrency: 1, maxQueue: 0, queueTimeoutMs: 200 } });
    const harness = h;
    h.simulator.addFault({ fault: { kind: "latency", ms: 1_200 }, times: 1 });
    const holding = postJson(h.graphqlUrl, GENERATE, { input: { ...TEXT, prompt: "holds the slot" } });
    await waitFor(async () => (harness.simulator.received.length === 1 ? true : undefined), 10_000);
    const job = (await submitJob(h.graphqlUrl, TEXT)).body.data!.submitGeneration;
    const refused = await postJson(h.graphqlUrl, GENERATE, { input: { ...TEXT, prompt: "refused" } });
    expect(refused.body.errors?.[0]?.extensions).toMatchObject({ code: "RATE_LIMITED" });
    expect((await holding).body.errors).toBeUndefined();
    const done = await pollJob(h.graphqlUrl, job.id, ["SUCCEEDED", "FAILED"]);
    expect(done.status).toBe("SUCCEEDED");
    const line = (await h.logLines()).find((l) => l.job_id === job.id)!;
    expect(line.timing.queue_ms).toBeGreaterThan(200);
  });

  it("a job's record expires GATEWAY_JOB_TTL_MS after its last change; its images stay", async () => {
    h = await start({ jobs: { recordTtlMs: 1_000 } });
    const job = (await submitJob(h.graphqlUrl, TEXT, { key: "ttl-1" })).body.data!.submitGeneration;
    const done = await pollJob(h.graphqlUrl, job.id, ["SUCCEEDED"]);
    const harness = h;
    await waitFor(async () => ((await readJob(harness.graphqlUrl, job.id)) === null ? true : undefined), 10_000);
    expect((await fetch(done.result!.images[0]!.url)).status).toBe(200);
    // Its idempotency key went with it: the same key submits anew.
    const again = await submitJob(h.graphqlUrl, TEXT, { key: "ttl-1" });
    expect(again.body.errors).toBeUndefined();
    expect(again.body.data!.submitGeneration.id).not.toBe(job.id);
  });

  it("an upstream failure ends the job FAILED with the code generateImages would give, and its line", async () => {
    h = await start();
    h.simulator.addFault({ fault: { kind: "status", status: 400 }, times: 1 });
    const job = (await submitJob(h.graphqlUrl, TEXT)).body.data!.submitGeneration;
    const done = await pollJob(h.graphqlUrl, job.id, ["FAILED", "SUCCEEDED"]);
    expect(done).toMatchObject({ status: "FAILED", result: null, error: { code: "UPSTREAM_BAD_REQUEST" } });
    const line = (await h.logLines()).find((l) => l.job_id === job.id);
    expect(line).toMatchObject({ status: "failed", error_code: "UPSTREAM_BAD_REQUEST", upstream_attempts: 1 });
  });
});

describe("the job engine says which it is at start", () => {
  it("without REDIS_URL: the in-process queue, not durable", async () => {
    const appLog: string[] = [];
    const h = await startHarness({ appLog: { write: (line) => void appLog.push(line) } });
    try {
      const said = appLog.map((line) => JSON.parse(line) as { level: number; msg: string }).find((entry) => entry.msg.includes("in-process queue"));
      expect(said?.msg).toMatch(/not durable/);
      expect(said?.level).toBe(40);
    } finally {
      await h.close();
    }
  });
});

describe.skipIf(!redisAvailable)("two replicas sharing one Redis", () => {
  it("the same idempotency key from the same token on either replica is one job, sent once; cancel on one is seen on the other", async () => {
    const redis = await startRedis();
    const tokens = { auth: { tokens: ["token-aaaa-0001"] } };
    const a = await startHarness({ config: { redisUrl: redis.url, ...tokens, jobs: { workers: false } } });
    const b = await startHarness({ config: { redisUrl: redis.url, ...tokens, jobs: { workers: false } } });
    try {
      const auth = { authorization: "Bearer token-aaaa-0001" };
      const first = (await submitJob(a.graphqlUrl, TEXT, { key: "shared-1", headers: auth })).body.data!.submitGeneration;
      const second = (await submitJob(b.graphqlUrl, TEXT, { key: "shared-1", headers: auth })).body.data!.submitGeneration;
      expect(second.id).toBe(first.id);
      // No replica runs jobs: it stays QUEUED, and either can cancel it.
      const cancelled = await postJson<{ cancelGeneration: Job }>(b.graphqlUrl, CANCEL, { id: first.id }, auth);
      expect(cancelled.body.data!.cancelGeneration.status).toBe("CANCELLED");
      expect(await readJob(a.graphqlUrl, first.id, auth)).toMatchObject({ status: "CANCELLED", error: { code: "JOB_CANCELLED" } });
      expect(a.simulator.received.length + b.simulator.received.length).toBe(0);
    } finally {
      await a.close();
      await b.close();
      await redis.kill();
    }
  });
});

describe("job inputs no job can run any more", () => {
  it("are removed at start when older than GATEWAY_JOB_TTL_MS; younger ones stay (another replica may run them)", async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), "job-inputs-"));
    const inputs = path.join(dataDir, "job-inputs");
    await mkdir(inputs, { recursive: true });
    const old = "0b7e3c1a-0000-4000-8000-000000000001-0";
    const young = "0b7e3c1a-0000-4000-8000-000000000002-0";
    await writeFile(path.join(inputs, old), "old");
    await writeFile(path.join(inputs, young), "young");
    const twoHoursAgo = (Date.now() - 2 * 3_600_000) / 1000;
    await utimes(path.join(inputs, old), twoHoursAgo, twoHoursAgo);
    const h = await startHarness({ config: { dataDir, jobs: { recordTtlMs: 3_600_000 } } });
    try {
      await waitFor(async () => ((await readdir(inputs)).includes(old) ? undefined : true), 5_000);
      expect(await readdir(inputs)).toEqual([young]);
    } finally {
      await h.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
