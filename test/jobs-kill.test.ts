import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startSimulator, type RunningSimulator } from "../src/simulator/simulator.js";
import { buildGateway, spawnGateway, type ChildGateway } from "./support/child-gateway.js";
import { GENERATE, postJson, startHarness, TEST_API_KEY, type Harness } from "./support/harness.js";
import { pollJob, submitJob } from "./support/jobs.js";
import { redisAvailable, startRedis, type TestRedis } from "./support/redis.js";
import { waitFor } from "./support/wait.js";

const TEXT = { model: "Kwai-Kolors/Kolors", prompt: "the job", imageSize: "768x1024" };
/** Short, so a killed worker's job is found stalled in about a second and a half instead of a minute. */
const LOCKS = { lockMs: 1_000, stalledIntervalMs: 500 };

/**
 * A worker replica SIGKILLed with a job in hand, as a crash or an OOM kill would: real gateway processes,
 * a real Redis, one simulator that counts what reaches "SiliconFlow". The job is sent at most once.
 */
describe.skipIf(!redisAvailable)("a worker replica killed with a job in hand", () => {
  let build: Awaited<ReturnType<typeof buildGateway>>;
  let redis: TestRedis;
  let simulator: RunningSimulator;
  let root: string;
  let worker: ChildGateway | undefined;
  let other: Harness | undefined;

  beforeAll(async () => {
    build = await buildGateway();
  }, 120_000);
  afterAll(async () => {
    await build?.cleanup();
  });
  beforeEach(async () => {
    redis = await startRedis();
    simulator = await startSimulator({ apiKey: TEST_API_KEY });
    root = await mkdtemp(path.join(tmpdir(), "jobs-kill-"));
  });
  afterEach(async () => {
    if (worker && worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill("SIGKILL");
    await worker?.exited;
    await other?.close();
    await simulator.close();
    await redis.kill();
    await rm(root, { recursive: true, force: true });
    worker = undefined;
    other = undefined;
  });

  /** The replica that takes the job and is killed: its own log, the shared folder of images and inputs. */
  const spawnWorker = (env: Record<string, string> = {}) =>
    spawnGateway(build.main, {
      LOG_DIR: path.join(root, "logs-a"),
      DATA_DIR: path.join(root, "data"),
      REPLICA_ID: "a",
      REDIS_URL: redis.url,
      SILICONFLOW_API_KEY: TEST_API_KEY,
      SILICONFLOW_BASE_URL: simulator.url,
      GATEWAY_JOB_LOCK_MS: String(LOCKS.lockMs),
      GATEWAY_JOB_STALLED_INTERVAL_MS: String(LOCKS.stalledIntervalMs),
      ...env,
    });

  /** The replica that is left: same Redis, same folder, same upstream. */
  const startOther = () =>
    startHarness({
      config: {
        redisUrl: redis.url,
        dataDir: path.join(root, "data"),
        replica: "b",
        jobs: LOCKS,
        siliconflow: { apiKey: TEST_API_KEY, baseUrl: simulator.url },
      },
    });

  const kill = async (child: ChildGateway) => {
    child.child.kill("SIGKILL");
    expect((await child.exited).signal).toBe("SIGKILL");
  };

  it("after the send: the job ends FAILED / UPSTREAM_INTERRUPTED on the other replica, and SiliconFlow saw exactly one request", async () => {
    worker = await spawnWorker();
    // SiliconFlow holds the generation: the worker has sent it and waits for the answer.
    simulator.addFault({ fault: { kind: "hang" }, times: 1 });
    const { body } = await submitJob(`${worker.url}/graphql`, TEXT);
    expect(body.errors).toBeUndefined();
    const id = body.data!.submitGeneration.id;
    await waitFor(async () => (simulator.received.length === 1 ? true : undefined), 10_000);
    await kill(worker);

    other = await startOther();
    const done = await pollJob(other.graphqlUrl, id, ["FAILED", "SUCCEEDED"], 20_000);
    expect(done).toMatchObject({ status: "FAILED", result: null, error: { code: "UPSTREAM_INTERRUPTED" } });
    expect(done.error!.message).toMatch(/may have run and been billed/);
    expect(simulator.received).toHaveLength(1);
    const lines = (await other.logLines()).filter((line) => line.job_id === id);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ status: "failed", error_code: "UPSTREAM_INTERRUPTED", replica: "b", upstream_attempts: 1, prompt: "the job" });
  }, 60_000);

  it("before the send (waiting for a free upstream slot): another replica completes it, with exactly one upstream request for it", async () => {
    worker = await spawnWorker({ SILICONFLOW_MAX_CONCURRENCY: "1" });
    // A generateImages on the worker replica takes its only upstream slot and is held there.
    simulator.addFault({ fault: { kind: "hang" }, times: 1 });
    const holding = postJson(`${worker.url}/graphql`, GENERATE, { input: { ...TEXT, prompt: "holds the slot" } }).catch(() => undefined);
    await waitFor(async () => (simulator.received.length === 1 ? true : undefined), 10_000);
    const { body } = await submitJob(`${worker.url}/graphql`, TEXT);
    const id = body.data!.submitGeneration.id;
    // Taken by the worker, which now waits for the slot.
    await pollJob(`${worker.url}/graphql`, id, ["RUNNING"], 10_000);
    await kill(worker);
    await holding;

    other = await startOther();
    const done = await pollJob(other.graphqlUrl, id, ["SUCCEEDED", "FAILED"], 20_000);
    expect(done.status).toBe("SUCCEEDED");
    // URLs are made from the submission's address (PUBLIC_URL, else its Host): that replica is gone, the image is not.
    const url = new URL(done.result!.images[0]!.url);
    expect(url.origin).toBe(worker.url);
    const image = await fetch(`${other.url}${url.pathname}`);
    expect(image.status).toBe(200);
    expect(simulator.received.map((request) => request.body.prompt)).toEqual(["holds the slot", "the job"]);
    const lines = (await other.logLines()).filter((line) => line.job_id === id);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ status: "success", replica: "b", upstream_attempts: 1 });
  }, 60_000);
});
