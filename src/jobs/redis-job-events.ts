import { EventEmitter } from "node:events";
import type { Redis } from "ioredis";
import type { JobView } from "./job.js";
import type { JobEvents } from "./job-events.js";

const CHANNEL = "gw-job-events";

/**
 * Job events over Redis pub/sub, so a client subscribed on one replica hears every state a job passes
 * through on any other. The subscriber holds a connection of its own (a subscribed connection can do
 * nothing else); listeners are local, one channel serves every job.
 */
export class RedisJobEvents implements JobEvents {
  private readonly local = new EventEmitter({ captureRejections: false });

  private constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
  ) {
    this.local.setMaxListeners(0);
    subscriber.on("message", (_channel: string, message: string) => {
      let job: JobView;
      try {
        job = JSON.parse(message) as JobView;
      } catch {
        return;
      }
      this.local.emit(job.id, job);
    });
  }

  static async connect(url: string, onError: (error: unknown) => void): Promise<RedisJobEvents> {
    const { Redis } = await import("ioredis");
    const publisher = new Redis(url, { maxRetriesPerRequest: 1 });
    const subscriber = new Redis(url, { maxRetriesPerRequest: null });
    for (const client of [publisher, subscriber]) client.on("error", onError);
    // Not awaited: with Redis away the gateway starts all the same, and ioredis subscribes once it connects
    // (and again after each reconnection).
    subscriber.subscribe(CHANNEL).catch(onError);
    return new RedisJobEvents(publisher, subscriber);
  }

  async publish(job: JobView): Promise<void> {
    await this.publisher.publish(CHANNEL, JSON.stringify(job));
  }

  subscribe(id: string, listener: (job: JobView) => void): () => void {
    this.local.on(id, listener);
    return () => this.local.off(id, listener);
  }

  async close(): Promise<void> {
    this.local.removeAllListeners();
    this.subscriber.disconnect();
    this.publisher.disconnect();
  }
}
