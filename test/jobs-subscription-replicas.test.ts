import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type RunningSimulator } from "../src/simulator/simulator.js";
import { buildGateway, spawnGateway, type ChildGateway } from "./support/child-gateway.js";
import { TEST_API_KEY } from "./support/harness.js";
import { submitJob, type Job } from "./support/jobs.js";
import { redisAvailable, startRedis, type TestRedis } from "./support/redis.js";
import { waitFor } from "./support/wait.js";
import { collect, wsClient } from "./support/ws-client.js";

const WATCH = /* GraphQL */ `
  subscription Watch($id: ID!) {
    generationJobUpdated(id: $id) { id status queuePosition startedAt finishedAt result { images { url } } error { code message } }
  }
`;

type Watched = { generationJobUpdated: Pick<Job, "id" | "status" | "queuePosition" | "startedAt" | "finishedAt" | "error"> & { result: { images: Array<{ url: string }> } | null } };

/**
 * Two real gateway processes on one real Redis: A takes submissions only (GATEWAY_WORKERS=0), B runs the
 * jobs. A client subscribed on A sees every state of the job B runs, carried by Redis.
 */
describe.skipIf(!redisAvailable)("a subscription on replica A for a job that replica B runs", () => {
  let build: Awaited<ReturnType<typeof buildGateway>>;
  let redis: TestRedis;
  let simulator: RunningSimulator;
  let root: string;
  let a: ChildGateway | undefined;
  let b: ChildGateway | undefined;

  const spawn = (replica: string, env: Record<string, string> = {}) =>
    spawnGateway(build.main, {
      LOG_DIR: path.join(root, `logs-${replica}`),
      DATA_DIR: path.join(root, "data"),
      REPLICA_ID: replica,
      REDIS_URL: redis.url,
      SILICONFLOW_API_KEY: TEST_API_KEY,
      SILICONFLOW_BASE_URL: simulator.url,
      ...env,
    });

  beforeAll(async () => {
    build = await buildGateway();
    redis = await startRedis();
    // Long enough for RUNNING to be seen on its own before SUCCEEDED.
    simulator = await startSimulator({ apiKey: TEST_API_KEY, latencyMs: 700 });
    root = await mkdtemp(path.join(tmpdir(), "jobs-subscription-replicas-"));
  }, 120_000);
  afterAll(async () => {
    for (const child of [a, b]) {
      if (child && child.child.exitCode === null) child.child.kill("SIGTERM");
      await child?.exited;
    }
    await simulator?.close();
    await redis?.kill();
    await build?.cleanup();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it("sees QUEUED on A while no worker runs, then RUNNING and SUCCEEDED as B takes and runs it", async () => {
    a = await spawn("a", { GATEWAY_WORKERS: "0" });
    const graphqlA = `${a.url}/graphql`;
    const { body } = await submitJob(graphqlA, { model: "Kwai-Kolors/Kolors", prompt: "a lighthouse seen from replica a", imageSize: "768x1024" });
    expect(body.errors).toBeUndefined();
    const id = body.data!.submitGeneration.id;

    const client = wsClient(graphqlA);
    const watch = collect<Watched>(client, WATCH, { id });
    await waitFor(() => Promise.resolve(watch.results.length > 0 || undefined));
    expect(watch.results[0]!.data!.generationJobUpdated).toMatchObject({ id, status: "QUEUED", queuePosition: 0, startedAt: null });

    // No replica runs jobs yet: B starts, and its worker takes the job from Redis.
    b = await spawn("b");
    expect(await watch.end).toEqual({ completed: true });
    const states = watch.results.map((result) => result.data!.generationJobUpdated);
    expect(watch.results.every((result) => result.errors === undefined)).toBe(true);
    // Each state once, in order (a QUEUED job may be told more than once, as its place in the queue changes).
    expect(states.map((state) => state.status).filter((status, i, all) => status !== all[i - 1])).toEqual(["QUEUED", "RUNNING", "SUCCEEDED"]);
    const done = states.at(-1)!;
    expect(done.finishedAt).not.toBeNull();
    expect(done.result!.images).toHaveLength(1);
    const image = await fetch(done.result!.images[0]!.url);
    expect(image.status).toBe(200);
    await client.dispose();

    // B ran it: its call log has the job's line, A's has none, and SiliconFlow was called once.
    expect(simulator.received).toHaveLength(1);
    const lines = async (replica: string) =>
      (await readFile(path.join(root, `logs-${replica}`, "image_generation.log"), "utf8").catch(() => ""))
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { job_id?: string; replica?: string; status?: string });
    expect((await lines("b")).filter((line) => line.job_id === id)).toMatchObject([{ replica: "b", status: "success" }]);
    expect((await lines("a")).filter((line) => line.job_id === id)).toEqual([]);
  }, 90_000);

  it("a subscription opened on A after B finished the job gets the final state at once, then completes", async () => {
    const graphqlB = `${b!.url}/graphql`;
    const { body } = await submitJob(graphqlB, { model: "Kwai-Kolors/Kolors", prompt: "finished before anyone looked", imageSize: "768x1024" });
    const id = body.data!.submitGeneration.id;
    const finished = wsClient(graphqlB);
    expect(await collect(finished, WATCH, { id }).end).toEqual({ completed: true });
    await finished.dispose();

    const late = wsClient(`${a!.url}/graphql`);
    const watch = collect<Watched>(late, WATCH, { id });
    expect(await watch.end).toEqual({ completed: true });
    expect(watch.results.map((result) => result.data!.generationJobUpdated.status)).toEqual(["SUCCEEDED"]);
    await late.dispose();
  }, 60_000);
});
