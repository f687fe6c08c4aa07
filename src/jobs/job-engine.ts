import type { Logger } from "pino";
import type { GatewayConfig } from "../config/config.schema.js";
import { LocalJobEvents, type JobEvents } from "./job-events.js";
import type { JobQueue } from "./job-queue.js";
import { MemoryJobQueue } from "./memory-job-queue.js";

/**
 * The queue engine and the event bus from the configuration: BullMQ and Redis pub/sub with a Redis URL,
 * else both in this process, which the log says at start (jobs are then lost with the process). BullMQ is
 * loaded only when used.
 */
export async function jobEngineFor(config: GatewayConfig, redisUrl: string | undefined, logger: Logger, now: () => number): Promise<{ queue: JobQueue; events: JobEvents }> {
  if (!redisUrl) {
    logger.warn(
      "generation jobs use the in-process queue (no REDIS_URL): they are not durable, a restart loses the jobs queued and running, and other replicas do not see them",
    );
    return { queue: new MemoryJobQueue(now), events: new LocalJobEvents() };
  }
  const { BullJobQueue } = await import("./bullmq-job-queue.js");
  const { RedisJobEvents } = await import("./redis-job-events.js");
  const queue = await BullJobQueue.connect({ url: redisUrl, lockMs: config.jobs.lockMs, stalledIntervalMs: config.jobs.stalledIntervalMs });
  const events = await RedisJobEvents.connect(redisUrl, (error) => logger.error({ err: error }, "job events (Redis pub/sub) failed"));
  logger.info({ workers: config.jobs.workers ? config.jobs.workerConcurrency : 0 }, "generation jobs use BullMQ on Redis: durable and shared by the replicas");
  return { queue, events };
}
