import { EventEmitter, on } from "node:events";
import { isFinal, type JobFeed, type JobView } from "./job.js";

/**
 * Where a job's changes are told: the queue engine publishes every state it writes, and the feed
 * (subscriptions, webhooks) hears them. This one is local to the process; a shared one (Redis) fans the
 * same events out to every replica.
 */
export interface JobEvents {
  publish(job: JobView): Promise<void>;
  /** Calls `listener` with each later state of job `id`; returns the unsubscribe. */
  subscribe(id: string, listener: (job: JobView) => void): () => void;
  close(): Promise<void>;
}

export class LocalJobEvents implements JobEvents {
  private readonly emitter = new EventEmitter({ captureRejections: false });

  constructor() {
    // Every open subscription is a listener; the count is bounded by the connection limits, not here.
    this.emitter.setMaxListeners(0);
  }

  publish(job: JobView): Promise<void> {
    this.emitter.emit(job.id, job);
    return Promise.resolve();
  }

  subscribe(id: string, listener: (job: JobView) => void): () => void {
    this.emitter.on(id, listener);
    return () => this.emitter.off(id, listener);
  }

  close(): Promise<void> {
    this.emitter.removeAllListeners();
    return Promise.resolve();
  }
}

/**
 * The feed over any event source: the state now (read after subscribing, so no change falls between the
 * two), then each newer change, up to a final state.
 */
export function jobFeed(events: JobEvents, read: (id: string) => Promise<JobView | null>): JobFeed {
  return {
    async *watch(id: string, signal: AbortSignal): AsyncIterable<JobView> {
      const changes = new EventEmitter();
      const unsubscribe = events.subscribe(id, (job) => changes.emit("job", job));
      try {
        const iterator = on(changes, "job", { signal });
        const current = await read(id);
        if (!current) return;
        yield current;
        if (isFinal(current.status)) return;
        let last = current;
        for await (const [job] of iterator as AsyncIterable<[JobView]>) {
          // A change older than what was read (published before it) is not news.
          if (rank(job) < rank(last)) continue;
          last = job;
          yield job;
          if (isFinal(job.status)) return;
        }
      } catch (error) {
        if (signal.aborted) return;
        throw error;
      } finally {
        unsubscribe();
      }
    },
  };
}

const ORDER = { QUEUED: 0, RUNNING: 1, SUCCEEDED: 2, FAILED: 2, CANCELLED: 2 } as const;

function rank(job: JobView): number {
  return ORDER[job.status];
}
