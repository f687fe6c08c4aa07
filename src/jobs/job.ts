/**
 * A generation job as every part of the gateway sees it: the queue engines keep it, the resolvers and REST
 * routes show it, the subscription streams it, the webhook posts it. Times are epoch milliseconds.
 */
export const JobStatus = {
  QUEUED: "QUEUED",
  RUNNING: "RUNNING",
  SUCCEEDED: "SUCCEEDED",
  FAILED: "FAILED",
  CANCELLED: "CANCELLED",
} as const;
export type JobStatus = (typeof JobStatus)[keyof typeof JobStatus];

const FINAL: ReadonlySet<JobStatus> = new Set([JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED]);

/** A job in one of these states never changes again. */
export function isFinal(status: JobStatus): boolean {
  return FINAL.has(status);
}

export interface JobError {
  /** An `ErrorCode`, e.g. `UPSTREAM_INTERRUPTED`. */
  code: string;
  message: string;
}

/** One output of a finished job, as `generateImages` gives it. */
export interface JobImage {
  index: number;
  url: string;
  width: number;
  height: number;
  mimeType: string;
  bytes: number;
  fileName: string;
}

/** What a SUCCEEDED job answers: the same payload as `generateImages`. */
export interface JobResult {
  callId: string;
  provider: string;
  model: string;
  seed: number | null;
  images: JobImage[];
  timings: { inferenceSeconds: number | null; totalMs: number };
  cacheHit: boolean;
}

export interface JobView {
  id: string;
  status: JobStatus;
  model: string;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  /** 0 is next; set only while QUEUED. */
  queuePosition: number | null;
  result: JobResult | null;
  error: JobError | null;
}

/**
 * Every state a job passes through, wherever it runs: on this replica, or (with Redis) on any other.
 * `watch` yields the job's state now, then each change, and ends after a final state or when `signal`
 * aborts; for an unknown id it yields nothing.
 */
export interface JobFeed {
  watch(id: string, signal: AbortSignal): AsyncIterable<JobView>;
}
