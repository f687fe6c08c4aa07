import type { Api, ImageTrace } from "../call-log/call-trace.js";
import type { GenerationParams } from "../models/generation-rules.js";
import type { JobView } from "./job.js";

/** A prepared input as a job keeps it: its bytes are in the image store under `name`, the rest here. */
export interface JobInput {
  name: string;
  index: number;
  mimeType: string;
  width: number;
  height: number;
  sourceFormat: string;
  sourceBytes: number;
  transformed: boolean;
}

/** What a worker needs to run a job: the prepared call, without its images. Dropped when the job ends. */
export interface JobWork {
  params: GenerationParams;
  modelId: string;
  fields: Record<string, string | number>;
  cacheKey: string | undefined;
  imageCount: number;
  publicBaseUrl: string;
  inputs: JobInput[];
  /** The call record's entries for the inputs and the phases run at submission. */
  inputTraces: ImageTrace[];
  phases: { upload?: number; preprocess?: number };
}

/** Where the job was submitted from, for its call-log line. */
export interface JobSubmission {
  requestId: string;
  clientIp: string | null;
  operationName: string | null;
  /** Who per-client counters count by (`token:<n>` or `ip:<address>`). */
  clientKey: string;
  /** The face it came through (GraphQL when absent), for the line's `api`. */
  api?: Api;
}

/** A job as the engines keep it: the view every face shows, and what only the gateway reads. */
export interface JobRecord {
  view: JobView;
  /** The client key that may see and cancel it (when client tokens are configured), else null: anyone with the id. */
  owner: string | null;
  webhookUrl: string | null;
  submission: JobSubmission;
  work: JobWork | null;
}

/** How many jobs not ended yet (queued or running) one client, and all clients, may have. */
export interface JobCaps {
  perClient: number;
  total: number;
}

/** How a worker is done with a job: finished (whatever its state), or handed back for another worker. */
export type JobOutcome = "done" | "requeue";

export type JobProcessor = (id: string) => Promise<JobOutcome>;

/**
 * A queue engine: where job records live, the queue workers take them from, and the marks that keep a job
 * from being sent twice. In process (not durable) or BullMQ on Redis (durable, shared by replicas).
 */
export interface JobQueue {
  readonly kind: "memory" | "bullmq";
  readonly durable: boolean;
  /** Saves the record, for `ttlMs` from now. */
  save(record: JobRecord, ttlMs: number): Promise<void>;
  read(id: string): Promise<JobRecord | null>;
  /** The job an idempotency scope names, if any. */
  findIdempotent(scope: string): Promise<string | undefined>;
  /** Claims the scope for `id` unless another job holds it; returns the holder (`id` when claimed). */
  claimIdempotent(scope: string, id: string, ttlMs: number): Promise<string>;
  /**
   * Counts `id` among the jobs not ended yet, of its client and in all, unless one of them is at its cap
   * (what it then answers). A count forgets a job `ttlMs` after its admission, so one whose end was never
   * released does not hold a place longer than its record lasts.
   */
  admit(id: string, clientKey: string, caps: JobCaps, ttlMs: number): Promise<"admitted" | "client" | "total">;
  /** The job has ended (or was never queued): it no longer counts. */
  release(id: string, clientKey: string): Promise<void>;
  /** Puts a saved job in the queue. */
  enqueue(id: string): Promise<void>;
  /** Takes a job no worker has taken out of the queue; false when a worker has it (or it is gone). */
  withdraw(id: string): Promise<boolean>;
  /** How many jobs a waiting job has ahead of it (0: next); null when it is not waiting. */
  position(id: string): Promise<number | null>;
  depth(): Promise<{ waiting: number; active: number }>;
  /** Sets the job's sent-mark, atomically; true when this call set it, false when it was set already. */
  markSent(id: string, ttlMs: number): Promise<boolean>;
  wasSent(id: string): Promise<boolean>;
  /**
   * Starts `concurrency` workers. `lost` hears of a job the engine gave up on without the processor
   * finishing it (BullMQ: stalled too often).
   */
  work(concurrency: number, process: JobProcessor, lost: (id: string) => void): void;
  /** Workers take no new job; the ones running go on. */
  stopTaking(): Promise<void>;
  close(): Promise<void>;
}
