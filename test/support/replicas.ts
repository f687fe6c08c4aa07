import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { CallLogRecord } from "../../src/call-log/record.js";
import { startSimulator, type RunningSimulator, type SimulatorOptions } from "../../src/simulator/simulator.js";
import { buildGateway, spawnGateway, type ChildGateway } from "./child-gateway.js";
import { TEST_API_KEY } from "./harness.js";
import { readJob as readJobAt, submitJob as submitJobAt, type Job } from "./jobs.js";
import { startRedis, type TestRedis } from "./redis.js";
import { waitFor } from "./wait.js";

/**
 * Several gateway processes as replicas of one deployment: one real redis-server (the job queue and
 * everything else shared), one simulator upstream in the test process (so every upstream request is
 * counted in one place), one DATA_DIR (the image store every replica serves from), and a log folder per
 * replica name, kept across restarts so a restarted replica appends to its own call log.
 */

export interface Replica {
  name: string;
  url: string;
  gateway: ChildGateway;
  logFile: string;
}

export interface ReplicaSetOptions {
  simulator?: SimulatorOptions;
}

export interface ReplicaSet {
  redis: TestRedis;
  simulator: RunningSimulator;
  dataDir: string;
  /** Starts a replica (again, when the name was used before: same log folder) with extra environment. */
  start(name: string, env?: Record<string, string>): Promise<Replica>;
  /** SIGTERM, then waits for the exit; resolves with the exit code. */
  stop(replica: Replica): Promise<number | null>;
  /** Every call-log line the named replicas wrote, in file order, replica by replica. */
  logLines(names: readonly string[]): Promise<CallLogRecord[]>;
  close(): Promise<void>;
}

/** Compiles the gateway once (see buildGateway), then starts Redis and the simulator. */
export async function startReplicaSet(options: ReplicaSetOptions = {}): Promise<ReplicaSet> {
  const build = await buildGateway();
  const root = await mkdtemp(path.join(tmpdir(), "gateway-replicas-"));
  const redis = await startRedis();
  // `received` is bounded; a test sending a hundred calls must see all of them.
  const simulator = await startSimulator({ apiKey: TEST_API_KEY, maxReceived: 1_000, ...options.simulator });
  const dataDir = path.join(root, "data");
  const running = new Set<Replica>();
  const logDir = (name: string) => path.join(root, `logs-${name}`);

  const set: ReplicaSet = {
    redis,
    simulator,
    dataDir,
    async start(name, env = {}) {
      const gateway = await spawnGateway(build.main, {
        SILICONFLOW_API_KEY: TEST_API_KEY,
        SILICONFLOW_BASE_URL: simulator.url,
        REDIS_URL: redis.url,
        REPLICA_ID: name,
        LOG_DIR: logDir(name),
        DATA_DIR: dataDir,
        LOG_LEVEL: "info",
        // The model list is not what these tests are about; one fetch at start is enough.
        SILICONFLOW_MODELS_REFRESH_MS: "0",
        ...env,
      });
      const replica = { name, url: gateway.url, gateway, logFile: path.join(logDir(name), "image_generation.log") };
      running.add(replica);
      return replica;
    },
    async stop(replica) {
      running.delete(replica);
      const { child } = replica.gateway;
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      return (await replica.gateway.exited).code;
    },
    async logLines(names) {
      const lines: CallLogRecord[] = [];
      for (const name of names) {
        const text = await readFile(path.join(logDir(name), "image_generation.log"), "utf8").catch(() => "");
        for (const line of text.split("\n").filter(Boolean)) lines.push(JSON.parse(line) as CallLogRecord);
      }
      return lines;
    },
    async close() {
      await Promise.all([...running].map((replica) => set.stop(replica)));
      await simulator.close();
      await redis.kill();
      await build.cleanup();
      await rm(root, { recursive: true, force: true });
    },
  };
  return set;
}

const FINAL: ReadonlySet<Job["status"]> = new Set(["SUCCEEDED", "FAILED", "CANCELLED"]);

export function isFinalJob(job: Job | null): job is Job {
  return job !== null && FINAL.has(job.status);
}

/** Submits a job to a replica over HTTP as a client would; throws with the errors when it was refused. */
export async function submitJob(replica: Replica, input: Record<string, unknown>, key?: string): Promise<Job> {
  const answer = await submitJobAt(`${replica.url}/graphql`, input, { key });
  if (answer.body.errors || !answer.body.data) throw new Error(`submitGeneration refused: ${JSON.stringify(answer.body.errors)}`);
  return answer.body.data.submitGeneration;
}

/** The job as `generationJob` answers it on this replica; null for an unknown id. */
export function readJob(replica: Replica, id: string): Promise<Job | null> {
  return readJobAt(`${replica.url}/graphql`, id);
}

/**
 * Polls `generationJob` on a replica, one job after another, until every job named is final: one reader,
 * as a polling client would be, however many jobs.
 */
export async function waitForFinal(replica: Replica, ids: readonly string[], timeoutMs = 20_000): Promise<Map<string, Job>> {
  const done = new Map<string, Job>();
  return waitFor(async () => {
    for (const id of ids) {
      if (done.has(id)) continue;
      const job = await readJob(replica, id);
      if (isFinalJob(job)) done.set(id, job);
    }
    return done.size === ids.length ? done : undefined;
  }, timeoutMs);
}
