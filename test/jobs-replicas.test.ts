import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisAvailable } from "./support/redis.js";
import type { Job } from "./support/jobs.js";
import { readJob, startReplicaSet, submitJob, waitForFinal, type Replica, type ReplicaSet } from "./support/replicas.js";

/**
 * Generation jobs across real gateway processes: one redis-server holds the queue, one simulator the
 * upstream (so every request any replica sends is counted here), one DATA_DIR the images. Replicas with
 * GATEWAY_WORKERS=0 only take submissions; the others also run jobs.
 */

const MODEL = "Kwai-Kolors/Kolors";
const SUBMIT_ONLY = { GATEWAY_WORKERS: "0" };
const WORKER = { GATEWAY_WORKERS: "1", GATEWAY_WORKER_CONCURRENCY: "4" };

const sha256 = (bytes: Buffer): string => createHash("sha256").update(bytes).digest("hex");
const input = (prompt: string) => ({ model: MODEL, prompt });

async function fetchBytes(url: string): Promise<{ status: number; bytes: Buffer }> {
  const response = await fetch(url);
  return { status: response.status, bytes: Buffer.from(await response.arrayBuffer()) };
}

/** A job with its image URLs cut to their paths: the origin follows the replica that answered. */
function comparable(job: Job): Job {
  if (!job.result) return job;
  return { ...job, result: { ...job.result, images: job.result.images.map((image) => ({ ...image, url: new URL(image.url).pathname })) } };
}

describe.skipIf(!redisAvailable)("generation jobs over several gateway processes sharing one Redis", () => {
  let set: ReplicaSet;
  let front: Replica;
  let workers: Replica[] = [];
  /** Every job finished so far, as first read, for the restart test to read again. */
  const finished = new Map<string, Job>();

  beforeAll(async () => {
    // A little latency, so two worker replicas both take jobs instead of one draining the queue alone.
    set = await startReplicaSet({ simulator: { latencyMs: 40 } });
    front = await set.start("front", SUBMIT_ONLY);
  }, 60_000);
  afterAll(async () => {
    await set?.close();
  });

  it("jobs queued while only submit-only replicas run wait QUEUED, unsent, and all finish once a worker replica starts", async () => {
    const submitted: Job[] = [];
    for (let i = 0; i < 4; i++) submitted.push(await submitJob(front, input(`queued with no worker ${i}`)));
    for (const job of submitted) expect(job.status).toBe("QUEUED");
    const positions = await Promise.all(submitted.map(async (job) => (await readJob(front, job.id))!));
    expect(positions.map((job) => job.status)).toEqual(["QUEUED", "QUEUED", "QUEUED", "QUEUED"]);
    expect(positions.map((job) => job.queuePosition)).toEqual([0, 1, 2, 3]);
    expect(set.simulator.received).toHaveLength(0);

    workers.push(await set.start("worker-1", WORKER));
    const results = await waitForFinal(front, submitted.map((job) => job.id));
    for (const job of results.values()) {
      expect(job).toMatchObject({ status: "SUCCEEDED", model: MODEL, queuePosition: null, error: null });
      expect(job.result!.images.length).toBeGreaterThan(0);
      finished.set(job.id, job);
    }
    expect(set.simulator.received).toHaveLength(4);
  });

  it("a job submitted on a submit-only replica is run by a worker replica and collected there; its images are served by both", async () => {
    const submitted = await submitJob(front, input("submitted on the front, run behind"));
    expect(submitted.status).toBe("QUEUED");
    const worker = workers[0]!;
    const job = (await waitForFinal(worker, [submitted.id])).get(submitted.id)!;
    expect(job).toMatchObject({ id: submitted.id, status: "SUCCEEDED", error: null });
    finished.set(job.id, job);
    const image = job.result!.images[0]!;
    const name = new URL(image.url).pathname;
    expect(name).toMatch(/^\/images\/[a-f0-9]{64}\.png$/);
    const fromWorker = await fetchBytes(`${worker.url}${name}`);
    const fromFront = await fetchBytes(`${front.url}${name}`);
    expect([fromWorker.status, fromFront.status]).toEqual([200, 200]);
    expect(fromFront.bytes.length).toBe(image.bytes);
    expect(sha256(fromFront.bytes)).toBe(sha256(fromWorker.bytes));

    // The worker wrote the job's one call-log line; the front, which only queued it, wrote none.
    const lines = (await set.logLines(["front", "worker-1"])).filter((line) => line.job_id === submitted.id);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ status: "success", call_id: job.result!.callId, replica: "worker-1" });
  });

  it("100 jobs over 2 worker replicas: exactly 100 upstream requests and 100 call-log lines, one per job, all SUCCEEDED", async () => {
    workers.push(await set.start("worker-2", WORKER));
    const sentBefore = set.simulator.received.length;
    const linesBefore = (await set.logLines(["front", "worker-1", "worker-2"])).length;
    // Submitted on all three replicas, as a load balancer would spread them.
    const entrances = [front, ...workers];
    const submitted = await Promise.all(Array.from({ length: 100 }, (_, i) => submitJob(entrances[i % entrances.length]!, input(`one of a hundred, ${i}`))));
    const ids = submitted.map((job) => job.id);
    expect(new Set(ids).size).toBe(100);

    const results = await waitForFinal(front, ids, 40_000);
    expect([...results.values()].filter((job) => job.status === "SUCCEEDED")).toHaveLength(100);
    for (const job of results.values()) finished.set(job.id, job);
    expect(set.simulator.received.length - sentBefore).toBe(100);

    const lines = await set.logLines(["front", "worker-1", "worker-2"]);
    const fresh = lines.filter((line) => line.job_id !== undefined && line.job_id !== null && ids.includes(line.job_id));
    expect(lines.length - linesBefore).toBe(100);
    expect(fresh).toHaveLength(100);
    expect(new Set(fresh.map((line) => line.job_id)).size).toBe(100);
    expect(fresh.every((line) => line.status === "success")).toBe(true);
    // The hundred were shared: both worker replicas ran some.
    const byReplica = new Map<string, number>();
    for (const line of fresh) byReplica.set(line.replica ?? "", (byReplica.get(line.replica ?? "") ?? 0) + 1);
    expect(byReplica.get("front")).toBeUndefined();
    expect(byReplica.get("worker-1")).toBeGreaterThan(0);
    expect(byReplica.get("worker-2")).toBeGreaterThan(0);
  }, 60_000);

  it("after every replica stops (SIGTERM) and starts again on the same Redis, the old finished jobs read back with their results, and nothing is sent again", async () => {
    expect(finished.size).toBe(105);
    const codes = await Promise.all([front, ...workers].map((replica) => set.stop(replica)));
    expect(codes).toEqual([0, 0, 0]);
    const sentBefore = set.simulator.received.length;

    const [frontAgain, workerAgain] = await Promise.all([set.start("front", SUBMIT_ONLY), set.start("worker-1", WORKER)]);
    front = frontAgain;
    workers = [workerAgain];
    const again = await waitForFinal(front, [...finished.keys()]);
    for (const [id, before] of finished) expect(comparable(again.get(id)!)).toEqual(comparable(before));
    const sample = [...finished.values()][0]!.result!.images[0]!;
    const served = await fetchBytes(`${front.url}${new URL(sample.url).pathname}`);
    expect(served.status).toBe(200);
    expect(served.bytes.length).toBe(sample.bytes);
    // Also through a worker replica, and no finished job ran again on the way.
    expect((await readJob(workers[0]!, [...finished.keys()][0]!))!.status).toBe("SUCCEEDED");
    expect(set.simulator.received.length).toBe(sentBefore);
  }, 40_000);
});
