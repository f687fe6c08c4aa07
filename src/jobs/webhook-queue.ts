import type { Logger } from "pino";
import type { WebhookDelivery, WebhookSender } from "./webhook-sender.js";

/** Holds webhooks between their attempts until each is delivered or given up. */
export interface WebhookQueue {
  /** Resolves once the delivery is taken (not delivered); rejects when it could not be. */
  enqueue(delivery: WebhookDelivery): Promise<void>;
  /** Stops starting attempts and waits for those under way. */
  close(): Promise<void>;
}

export interface RetryPolicy {
  /** At most, the first included. */
  attempts: number;
  /** The wait after the first failure, doubled after each next one. */
  backoffMs: number;
}

/** Each wait is within this share below its doubling, so receivers that failed together are not retried together. */
export const BACKOFF_JITTER = 0.25;

/** BullMQ's exponential backoff with jitter, so that both queues wait alike; `failures` counts from 1. */
export function retryDelayMs(failures: number, backoffMs: number, random: () => number = Math.random): number {
  const longest = Math.round(2 ** (failures - 1) * backoffMs);
  return Math.floor(longest * (1 - BACKOFF_JITTER) + random() * longest * BACKOFF_JITTER);
}

/**
 * The queue without Redis: the waits are timers of this process, so a restart loses the webhooks still
 * waiting for a retry (close says how many).
 */
export class InProcessWebhookQueue implements WebhookQueue {
  private readonly waiting = new Map<NodeJS.Timeout, WebhookDelivery>();
  private readonly running = new Set<Promise<void>>();
  /** Failed attempts that ended after close began, whose retry will not come. */
  private readonly cut: WebhookDelivery[] = [];
  private closed = false;

  constructor(
    private readonly sender: WebhookSender,
    private readonly retry: RetryPolicy,
    private readonly logger: Logger,
  ) {}

  enqueue(delivery: WebhookDelivery): Promise<void> {
    if (this.closed) return Promise.reject(new Error("the webhook queue is closed"));
    this.run(delivery, 1);
    return Promise.resolve();
  }

  private run(delivery: WebhookDelivery, attempt: number): void {
    const running: Promise<void> = this.sender.attempt(delivery, attempt, this.retry.attempts).then((outcome) => {
      this.running.delete(running);
      if (outcome.delivered || outcome.final || attempt >= this.retry.attempts) return;
      if (this.closed) return void this.cut.push(delivery);
      const timer = setTimeout(() => {
        this.waiting.delete(timer);
        this.run(delivery, attempt + 1);
      }, retryDelayMs(attempt, this.retry.backoffMs));
      this.waiting.set(timer, delivery);
    });
    this.running.add(running);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.running]);
    const dropped = [...this.waiting.values(), ...this.cut.splice(0)];
    for (const timer of this.waiting.keys()) clearTimeout(timer);
    this.waiting.clear();
    if (dropped.length > 0) {
      this.logger.warn(
        { deliveryIds: dropped.map((d) => d.deliveryId), jobIds: dropped.map((d) => d.jobId) },
        `${dropped.length} webhooks waiting for a retry are dropped at shutdown: without REDIS_URL their retries live in this process only`,
      );
    }
  }
}
