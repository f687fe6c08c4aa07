import { Queue, WaitingError, Worker, type Job } from "bullmq";
import type { Redis } from "ioredis";
import type { JobCaps, JobProcessor, JobQueue, JobRecord } from "./job-queue.js";

const QUEUE_NAME = "gateway-generations";
/** Keys of the gateway's own: records, idempotency keys and sent-marks; BullMQ's are under `bull:`. */
const RECORD = "gw-job:";
const IDEMPOTENCY = "gw-job-idem:";
const SENT = "gw-job-sent:";
/** Sorted sets of the jobs not ended yet (scored by admission time): all of them, and one per client. */
const OPEN = "gw-job-open";
const OPEN_OF = "gw-job-open:";

/**
 * Both counts and both places in one step, so that submissions racing on several replicas cannot pass a
 * cap together. Places older than a record lasts are forgotten first.
 */
const ADMIT = `
local oldest = tonumber(ARGV[1]) - tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', oldest)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', oldest)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 'client' end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[5]) then return 'total' end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 'admitted'
`;
/**
 * How often a job may be found stalled (its worker died before the send each time) before BullMQ gives up
 * on it; the processor's own sent-mark check decides everything after a send.
 */
const MAX_STALLED = 5;

export interface BullJobQueueOptions {
  url: string;
  /** A worker's lock on a job, renewed while it runs (half of it); a dead worker's job is free again after it. */
  lockMs: number;
  /** How often a worker looks for jobs whose lock expired. */
  stalledIntervalMs: number;
}

/**
 * The durable engine: BullMQ on Redis holds the queue (the job's id only, nothing of its inputs), and the
 * gateway's records, idempotency keys and sent-marks are plain keys beside it with their TTLs. Queue,
 * worker and records each have their own connection, as BullMQ wants (`maxRetriesPerRequest: null` for
 * its blocking commands). A job is tried once (`attempts: 1`): a failure is final, never re-sent.
 */
export class BullJobQueue implements JobQueue {
  readonly kind = "bullmq";
  readonly durable = true;
  private worker: Worker | undefined;

  private constructor(
    private readonly options: BullJobQueueOptions,
    private readonly queue: Queue,
    private readonly connections: Redis[],
    private readonly connect: () => Redis,
  ) {
    this.redis = connections[connections.length - 1]!;
  }

  private readonly redis: Redis;

  static async connect(options: BullJobQueueOptions): Promise<BullJobQueue> {
    const { Redis } = await import("ioredis");
    const connections: Redis[] = [];
    // BullMQ leaves connections it was handed open: they are closed here, at `close`.
    const connect = () => {
      const connection = new Redis(options.url, { maxRetriesPerRequest: null });
      connection.on("error", () => undefined);
      connections.push(connection);
      return connection;
    };
    const queue = new Queue(QUEUE_NAME, {
      connection: connect(),
      // The record is the gateway's: BullMQ keeps nothing of a job once its worker is done with it.
      defaultJobOptions: { attempts: 1, removeOnComplete: true, removeOnFail: true },
    });
    // Records are read on every poll: a command that cannot be answered fails instead of waiting forever.
    const redis = new Redis(options.url, { maxRetriesPerRequest: 2 });
    queue.on("error", () => undefined);
    redis.on("error", () => undefined);
    connections.push(redis);
    return new BullJobQueue(options, queue, connections, connect);
  }

  async save(record: JobRecord, ttlMs: number): Promise<void> {
    await this.redis.set(RECORD + record.view.id, JSON.stringify(record), "PX", ttlMs);
  }

  async read(id: string): Promise<JobRecord | null> {
    const text = await this.redis.get(RECORD + id);
    return text ? (JSON.parse(text) as JobRecord) : null;
  }

  async findIdempotent(scope: string): Promise<string | undefined> {
    return (await this.redis.get(IDEMPOTENCY + scope)) ?? undefined;
  }

  async claimIdempotent(scope: string, id: string, ttlMs: number): Promise<string> {
    const set = await this.redis.set(IDEMPOTENCY + scope, id, "PX", ttlMs, "NX");
    if (set === "OK") return id;
    return (await this.redis.get(IDEMPOTENCY + scope)) ?? id;
  }

  async admit(id: string, clientKey: string, caps: JobCaps, ttlMs: number): Promise<"admitted" | "client" | "total"> {
    const answer = await this.redis.eval(ADMIT, 2, OPEN_OF + clientKey, OPEN, Date.now(), ttlMs, id, caps.perClient, caps.total);
    return answer as "admitted" | "client" | "total";
  }

  async release(id: string, clientKey: string): Promise<void> {
    await this.redis.multi().zrem(OPEN_OF + clientKey, id).zrem(OPEN, id).exec();
  }

  async enqueue(id: string): Promise<void> {
    await this.queue.add("generation", { id }, { jobId: id });
  }

  async withdraw(id: string): Promise<boolean> {
    const job = await this.queue.getJob(id);
    if (!job) return false;
    const state = await job.getState();
    if (state !== "waiting" && state !== "prioritized" && state !== "delayed") return false;
    try {
      // Refused by BullMQ once a worker holds the job's lock: it has been taken in the meantime.
      await job.remove();
      return true;
    } catch {
      return false;
    }
  }

  async position(id: string): Promise<number | null> {
    // New jobs are pushed on the left and workers take from the right: those to its right are ahead.
    const key = this.queue.toKey("wait");
    const [index, length] = await Promise.all([this.redis.lpos(key, id), this.redis.llen(key)]);
    return index === null ? null : Math.max(0, length - 1 - index);
  }

  async depth(): Promise<{ waiting: number; active: number }> {
    // Read on the records' connection, not through the Queue: BullMQ waits for its connection to be ready
    // as long as Redis is away, which would hold every /metrics scrape for the whole outage.
    const key = (name: string) => this.queue.toKey(name);
    const answers = await this.redis.multi().llen(key("wait")).llen(key("paused")).zcard(key("prioritized")).zcard(key("delayed")).llen(key("active")).exec();
    const [wait = 0, paused = 0, prioritized = 0, delayed = 0, active = 0] = (answers ?? []).map(([error, count]) => {
      if (error) throw error;
      return Number(count);
    });
    return { waiting: wait + paused + prioritized + delayed, active };
  }

  async markSent(id: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(SENT + id, "1", "PX", ttlMs, "NX")) === "OK";
  }

  async wasSent(id: string): Promise<boolean> {
    return (await this.redis.exists(SENT + id)) === 1;
  }

  work(concurrency: number, process: JobProcessor, lost: (id: string) => void): void {
    const worker = new Worker<{ id: string }>(
      QUEUE_NAME,
      async (job: Job<{ id: string }>, token?: string) => {
        const outcome = await process(job.data.id);
        if (outcome === "requeue") {
          // Back to waiting for another worker (of this replica or another); not a failure, not an attempt.
          await job.moveToWait(token);
          throw new WaitingError();
        }
      },
      {
        connection: this.connect(),
        concurrency,
        lockDuration: this.options.lockMs,
        stalledInterval: this.options.stalledIntervalMs,
        maxStalledCount: MAX_STALLED,
      },
    );
    worker.on("error", () => undefined);
    // Failed without the processor ending it: stalled too often. The processor itself never throws.
    worker.on("failed", (job) => {
      if (job) lost(job.data.id);
    });
    this.worker = worker;
  }

  async stopTaking(): Promise<void> {
    // Not waiting for the jobs running: the job service decides what becomes of them.
    await this.worker?.pause(true);
  }

  async close(): Promise<void> {
    await this.worker?.close(true);
    await this.queue.close();
    for (const connection of this.connections) connection.disconnect();
  }
}
