import type { JobView } from "./job.js";

/** The one event there is; receivers switch on it, so that others can join without breaking them. */
export const WEBHOOK_EVENT = "generation.finished";

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/**
 * The body of a finished job's webhook: the job with the fields and names of the schema's `GenerationJob`,
 * times as ISO strings (the DateTime scalar's form). `dataUrl` is left out: inline images have no place in
 * a notification, and the `url`s serve them.
 */
export function webhookBody(job: JobView): string {
  const { result } = job;
  return JSON.stringify({
    event: WEBHOOK_EVENT,
    job: {
      id: job.id,
      status: job.status,
      model: job.model,
      createdAt: iso(job.createdAt),
      startedAt: iso(job.startedAt),
      finishedAt: iso(job.finishedAt),
      queuePosition: job.queuePosition,
      result: result && {
        callId: result.callId,
        provider: result.provider,
        model: result.model,
        seed: result.seed,
        images: result.images.map(({ index, url, width, height, mimeType, bytes }) => ({ index, url, width, height, mimeType, bytes })),
        timings: { inferenceSeconds: result.timings.inferenceSeconds, totalMs: result.timings.totalMs },
        cacheHit: result.cacheHit,
      },
      error: job.error && { code: job.error.code, message: job.error.message },
    },
  });
}
