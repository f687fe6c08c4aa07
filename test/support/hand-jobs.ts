import { jobFeed, LocalJobEvents } from "../../src/jobs/job-events.js";
import type { JobFeed, JobView } from "../../src/jobs/job.js";

export const T0 = Date.UTC(2026, 0, 2, 3, 4, 5);

export function queued(id: string): JobView {
  return { id, status: "QUEUED", model: "Kwai-Kolors/Kolors", createdAt: T0, startedAt: null, finishedAt: null, queuePosition: 2, result: null, error: null };
}

export function running(id: string): JobView {
  return { ...queued(id), status: "RUNNING", startedAt: T0 + 1000, queuePosition: null };
}

export function succeeded(id: string): JobView {
  return {
    ...running(id),
    status: "SUCCEEDED",
    finishedAt: T0 + 2000,
    result: {
      callId: `call-${id}`,
      provider: "SILICONFLOW",
      model: "Kwai-Kolors/Kolors",
      seed: 7,
      images: [{ index: 0, url: "http://127.0.0.1/images/a.png", width: 64, height: 64, mimeType: "image/png", bytes: 100, fileName: "a.png" }],
      timings: { inferenceSeconds: 0.5, totalMs: 1000 },
      cacheHit: false,
    },
  };
}

export interface HandFeed {
  feed: JobFeed;
  /** Keeps the job's state and publishes it, as an engine would. */
  put(job: JobView): void;
  /** How many watches listen for job `id`. */
  listeners(id: string): number;
}

/** Job states published by hand, as an engine would: the feed is the real one, over local events. */
export function handFeed(): HandFeed {
  const events = new LocalJobEvents();
  const jobs = new Map<string, JobView>();
  return {
    feed: jobFeed(events, (id) => Promise.resolve(jobs.get(id) ?? null)),
    put(job: JobView): void {
      jobs.set(job.id, job);
      void events.publish(job);
    },
    listeners: (id: string) => (events as unknown as { emitter: { listenerCount(name: string): number } }).emitter.listenerCount(id),
  };
}

