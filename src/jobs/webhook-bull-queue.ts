import { Queue, UnrecoverableError, Worker, type Job } from "bullmq";
import { Redis, type RedisOptions } from "ioredis";
import type { Logger } from "pino";
import { BACKOFF_JITTER, type RetryPolicy, type WebhookQueue } from "./webhook-queue.js";
import type { WebhookDelivery, WebhookSender } from "./webhook-sender.js";

const QUEUE_NAME = "gateway-webhooks";
/** Deliveries one replica makes at once; each waits on a receiver, not on this machine. */
const CONCURRENCY = 8;
/** How long a queued delivery may take to reach Redis before it is sent from this process instead. */
const ADD_TIMEOUT_MS = 2_000;
const DAY_SECONDS = 86_400;

export interface BullWebhookQueueOptions {
  redisUrl: string;
  sender: WebhookSender;
  retry: RetryPolicy;
  logger: Logger;
  /** Where a delivery goes when Redis cannot take it: not durable, but not lost either. */
  fallback: WebhookQueue;
}

/**
 * The queue with Redis: BullMQ keeps each webhook with its attempts and exponential backoff, so a retry
 * waiting when the gateway restarts is made after it, by whichever replica's worker is free (every replica
 * runs one; each must have the same WEBHOOK_SECRET). A delivery is a BullMQ job whose id is the delivery id,
 * so a job reported finished twice is queued once. An attempt cut by a replica's death is made again by
 * another (BullMQ's stalled-job check): the receiver may then see one delivery twice, with one delivery id.
 */
export class BullWebhookQueue implements WebhookQueue {
  private readonly queue: Queue<WebhookDelivery>;
  private readonly worker: Worker<WebhookDelivery>;
  private readonly connections: Redis[] = [];
  private readonly producer: Redis;
  private lastErrorLoggedAt = 0;

  constructor(private readonly options: BullWebhookQueueOptions) {
    // The queue's connection fails fast (no offline queue, a command timeout), so a submission-time Redis
    // outage falls back at once; the worker's waits for Redis as long as it takes, as BullMQ requires.
    this.producer = this.connect({ enableOfflineQueue: false, commandTimeout: ADD_TIMEOUT_MS, maxRetriesPerRequest: 1 });
    const consumer = this.connect({ maxRetriesPerRequest: null });
    this.queue = new Queue(QUEUE_NAME, { connection: this.producer });
    this.queue.on("error", (error) => this.redisFailed(error));
    this.worker = new Worker<WebhookDelivery>(QUEUE_NAME, (job) => this.process(job), { connection: consumer, concurrency: CONCURRENCY });
    this.worker.on("error", (error) => this.redisFailed(error));
  }

  async enqueue(delivery: WebhookDelivery): Promise<void> {
    const { attempts, backoffMs } = this.options.retry;
    let timer: NodeJS.Timeout | undefined;
    try {
      // BullMQ would wait for a connection that is not ready as long as it takes; a webhook waits no longer
      // than it would for Redis to answer.
      if (!(await this.producerReady())) throw new Error(`the connection to Redis is ${this.producer.status}`);
      const added = this.queue.add("deliver", delivery, {
        jobId: delivery.deliveryId,
        attempts,
        backoff: { type: "exponential", delay: backoffMs, jitter: BACKOFF_JITTER },
        // Kept a while after the end, so that the same delivery reported again is still recognised.
        removeOnComplete: { age: DAY_SECONDS },
        removeOnFail: { age: 7 * DAY_SECONDS },
      });
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Redis did not take it within ${ADD_TIMEOUT_MS} ms`)), ADD_TIMEOUT_MS);
      });
      await Promise.race([added, late]);
    } catch (error) {
      this.options.logger.warn(
        { err: error, deliveryId: delivery.deliveryId, jobId: delivery.jobId },
        `webhook ${delivery.deliveryId} could not be queued in Redis; it is delivered from this process, and its retries do not survive a restart`,
      );
      await this.options.fallback.enqueue(delivery);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Ready now, or (while it is still connecting) within ADD_TIMEOUT_MS. */
  private producerReady(): Promise<boolean> {
    const { producer } = this;
    if (producer.status === "ready") return Promise.resolve(true);
    if (producer.status !== "connecting" && producer.status !== "connect" && producer.status !== "wait") return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (ready: boolean) => {
        clearTimeout(timer);
        producer.off("ready", onReady);
        resolve(ready);
      };
      const onReady = () => done(true);
      const timer = setTimeout(() => done(false), ADD_TIMEOUT_MS);
      producer.once("ready", onReady);
    });
  }

  private async process(job: Job<WebhookDelivery>): Promise<void> {
    const outcome = await this.options.sender.attempt(job.data, job.attemptsMade + 1, this.options.retry.attempts);
    if (outcome.delivered) return;
    const reason = outcome.reason ?? "not delivered";
    // BullMQ schedules the next attempt on a throw; an address refusal would be refused again.
    throw outcome.final ? new UnrecoverableError(reason) : new Error(reason);
  }

  async close(): Promise<void> {
    // The worker first: it finishes the attempts under way, and leaves the waiting ones in Redis.
    await this.worker.close();
    await this.queue.close();
    for (const connection of this.connections) connection.disconnect();
    await this.options.fallback.close();
  }

  private connect(options: RedisOptions): Redis {
    const connection = new Redis(this.options.redisUrl, options);
    connection.on("error", (error: Error) => this.redisFailed(error));
    this.connections.push(connection);
    return connection;
  }

  /** A Redis outage repeats its error on every reconnection: logged once a minute. */
  private redisFailed(error: Error): void {
    const now = Date.now();
    if (now - this.lastErrorLoggedAt < 60_000) return;
    this.lastErrorLoggedAt = now;
    this.options.logger.error({ err: error }, `webhook queue: Redis failed (${error.message}); queued webhooks wait in Redis until it is back`);
  }
}
