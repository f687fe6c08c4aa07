import { createHash, randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { CallBook } from "../call-log/book.js";
import { cutCall, type CallTrace, type Provider } from "../call-log/call-trace.js";
import type { CallSink, RequestMeta } from "../call-log/recorder.js";
import { asGatewayError, badInput, ErrorCode, GatewayError } from "../errors.js";
import type { Caller, GenerationOutcome, GenerationRequest, GenerationService, PreparedGeneration } from "../generation/generation.service.js";
import type { GatewayMetrics } from "../observability/metrics.js";
import { jobInputName, type ImageStore } from "../storage/image-store.js";
import type { UpstreamMime } from "../generation/image-processing.js";
import { jobFeed, type JobEvents } from "./job-events.js";
import type { JobNotifier } from "./job-notifier.js";
import type { JobCaps, JobOutcome, JobQueue, JobRecord, JobSubmission, JobWork } from "./job-queue.js";
import { isFinal, JobStatus, type JobError, type JobFeed, type JobResult, type JobView } from "./job.js";

/** The same key from the same client within this long returns the same job. */
export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;
const MAX_IDEMPOTENCY_KEY_CHARS = 200;

const INTERRUPTED_MESSAGE =
  "the job's worker stopped after the generation had been sent to SiliconFlow: it may have run and been billed, and it is not sent again; submit it anew if you need it";

export interface JobServiceDeps {
  queue: JobQueue;
  events: JobEvents;
  generation: Pick<GenerationService, "prepare" | "execute">;
  store: ImageStore;
  /** Where a job's call-log line goes when it ends: the recorder, so the call log's rules hold for jobs too. */
  recorder: Pick<CallSink, "record">;
  provider: Provider;
  /** The gateway's own key, masked in the line. */
  apiKey: string | undefined;
  /** Checks a `webhookUrl` at submission (refusing all when webhooks are not configured) and posts the end. */
  notifier: JobNotifier;
  metrics?: GatewayMetrics;
  /** How long a job's record is kept after its last change. */
  recordTtlMs: number;
  /** Jobs not ended yet that one client, and all, may have: each keeps inputs in the store and a record until it ends. */
  caps: JobCaps;
  /** True when client tokens are configured: a job is then seen and cancelled only with the token that submitted it. */
  ownedByToken: boolean;
  /**
   * Asked right before a job is sent: an error when no paid call may start now (the call log or the image
   * store cannot be written). The job then ends FAILED with it, nothing sent.
   */
  spendingRefusal?: () => GatewayError | undefined;
  now?: () => number;
  monotonicMs?: () => number;
  /** A failure that is nobody's request's (an event not published, a record not saved at the end). */
  onError?: (error: unknown, message: string) => void;
}

export interface SubmitOptions {
  idempotencyKey?: string | null;
  webhookUrl?: string | null;
  submission: Omit<JobSubmission, "clientKey">;
}

interface Running {
  record: JobRecord;
  trace: CallTrace | undefined;
  sent: boolean;
  /** Ends a wait for the budget or a slot, and stops a send that has not happened. */
  abort: AbortController;
  cut: boolean;
  stop: (outcome: JobOutcome) => void;
}

/**
 * Generation jobs: submitted now, run later by a worker of any replica, read until their record expires.
 * It knows nothing of GraphQL or HTTP; every state it writes is published on `events`.
 */
export class JobService {
  private readonly now: () => number;
  private readonly monotonicMs: () => number;
  private readonly running = new Map<string, Running>();
  private idle: (() => void) | undefined;
  private stopping = false;
  private stopped: Promise<void> | undefined;
  /** Aborted at close: the writes retried while Redis was down are tried once more, then given up. */
  private readonly closing = new AbortController();
  private readonly retrying = new Set<Promise<void>>();
  readonly feed: JobFeed;

  constructor(private readonly deps: JobServiceDeps) {
    this.now = deps.now ?? Date.now;
    this.monotonicMs = deps.monotonicMs ?? (() => performance.now());
    this.feed = jobFeed(deps.events, async (id) => {
      const record = await this.deps.queue.read(id);
      return record ? this.withPosition(record.view) : null;
    });
    deps.metrics?.watchJobQueue(() => deps.queue.depth());
  }

  get engine(): JobQueue["kind"] {
    return this.deps.queue.kind;
  }

  /** Runs jobs on this replica, `concurrency` at once. */
  startWorkers(concurrency: number): void {
    this.deps.queue.work(
      concurrency,
      (id) => this.process(id),
      // Told from a queue event, with nobody to await it: a Redis gone at that moment (a shutdown, an outage)
      // must reach the application log, not become an unhandled rejection that ends the process.
      (id) => void this.lost(id).catch((error: unknown) => this.deps.onError?.(error, `the end of job ${id}, given up by the queue, could not be recorded`)),
    );
  }

  /**
   * Checks and prepares the call (the same refusals as `generateImages`, into `trace`), keeps its inputs in
   * the image store and queues it. With an idempotency key already used by this client, the job it named.
   */
  async submit(request: GenerationRequest, options: SubmitOptions, trace: CallTrace): Promise<JobView> {
    const { caller } = request;
    trace.params = request.params;
    if (caller.apiKey) {
      throw badInput(
        "x-siliconflow-api-key",
        "generation jobs run with the gateway's own SiliconFlow key: a caller's key would have to be kept in the queue until a worker runs the job; use generateImages with your own key",
      );
    }
    const scope = options.idempotencyKey == null ? undefined : idempotencyScope(caller, options.idempotencyKey);
    if (scope) {
      const existing = await this.idempotent(scope, caller);
      if (existing) return existing;
    }
    if (options.webhookUrl != null) await this.deps.notifier.check(options.webhookUrl);
    const prepared = await this.deps.generation.prepare(request, trace);
    const id = randomUUID();
    await this.admit(id, caller.clientKey);
    let work: JobWork;
    try {
      if (scope) {
        // Never longer than the record: a key must not outlive the job it names and block new submissions.
        const holder = await this.store(() => this.deps.queue.claimIdempotent(scope, id, Math.min(IDEMPOTENCY_TTL_MS, this.deps.recordTtlMs)));
        if (holder !== id) {
          await this.release(id, caller.clientKey);
          // Another submission with the same key won the race: its job is this one.
          return (await this.waitForRecord(holder, caller)) ?? this.refuseUnknown();
        }
      }
      work = await this.keepInputs(id, prepared, trace);
    } catch (error) {
      await this.release(id, caller.clientKey);
      throw error;
    }
    const record: JobRecord = {
      view: {
        id,
        status: JobStatus.QUEUED,
        model: request.params.model,
        createdAt: this.now(),
        startedAt: null,
        finishedAt: null,
        queuePosition: null,
        result: null,
        error: null,
      },
      owner: this.deps.ownedByToken ? caller.clientKey : null,
      webhookUrl: options.webhookUrl ?? null,
      submission: { ...options.submission, clientKey: caller.clientKey },
      work,
    };
    try {
      await this.store(async () => {
        await this.deps.queue.save(record, this.deps.recordTtlMs);
        await this.deps.queue.enqueue(id);
      });
    } catch (error) {
      await this.dropInputs(work);
      await this.release(id, caller.clientKey);
      throw error;
    }
    this.deps.metrics?.jobState(JobStatus.QUEUED);
    const view = await this.withPosition(record.view);
    await this.publish(view);
    return view;
  }

  /** The job as its client may see it, or null (unknown, expired, or another token's). */
  async get(id: string, caller: Caller): Promise<JobView | null> {
    const record = await this.visible(id, caller);
    return record ? this.withPosition(record.view) : null;
  }

  /** States of one job as they change (see `JobFeed.watch`), for the client that may see it. */
  async *watch(id: string, caller: Caller, signal: AbortSignal): AsyncIterable<JobView> {
    if (!(await this.visible(id, caller))) return;
    yield* this.feed.watch(id, signal);
  }

  /** QUEUED becomes CANCELLED, with nothing sent; a job that runs or has ended cannot be cancelled. */
  async cancel(id: string, caller: Caller): Promise<JobView> {
    if (this.deps.ownedByToken && !caller.authenticated) {
      throw new GatewayError(ErrorCode.UNAUTHENTICATED, "cancelGeneration needs the client token the job was submitted with: send `Authorization: Bearer <token>`");
    }
    const record = await this.visible(id, caller);
    if (!record) return this.refuseUnknown();
    if (record.view.status === JobStatus.CANCELLED) return record.view;
    if (record.view.status === JobStatus.QUEUED && (await this.store(() => this.deps.queue.withdraw(id)))) {
      return this.finish(record, { status: JobStatus.CANCELLED, error: { code: ErrorCode.JOB_CANCELLED, message: "cancelled before it ran: nothing was sent to SiliconFlow or billed" } });
    }
    const now = (await this.store(() => this.deps.queue.read(id))) ?? record;
    if (isFinal(now.view.status)) {
      if (now.view.status === JobStatus.CANCELLED) return now.view;
      throw new GatewayError(ErrorCode.JOB_NOT_CANCELLABLE, `the job has ended (${now.view.status}); only a QUEUED job can be cancelled`, { field: "id" });
    }
    throw new GatewayError(
      ErrorCode.JOB_NOT_CANCELLABLE,
      "the job is RUNNING: a worker has taken it and may have sent it to SiliconFlow, which cannot be told to stop, so it cannot be cancelled; it runs to its end",
      { field: "id" },
    );
  }

  /** How many jobs this replica runs now. */
  get runningCount(): number {
    return this.running.size;
  }

  /**
   * Stops this replica's workers: no new job is taken; a job not sent yet goes back to the queue (for
   * another replica, with Redis); one already sent may finish until `timeoutMs`, then it is cut, gets its
   * line and ends UPSTREAM_INTERRUPTED.
   */
  shutdown(timeoutMs: number): Promise<void> {
    return (this.stopped ??= this.stop(timeoutMs));
  }

  private async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    await this.deps.queue.stopTaking().catch((error: unknown) => this.deps.onError?.(error, "the job workers could not be stopped"));
    for (const running of this.running.values()) {
      if (!running.sent) running.abort.abort(new GatewayError(ErrorCode.SHUTTING_DOWN, "the replica is stopping; the job goes back to the queue"));
    }
    if (this.running.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => (this.idle = resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
      ]);
      clearTimeout(timer);
    }
    await Promise.all([...this.running.values()].map((running) => this.cut(running)));
  }

  async close(): Promise<void> {
    await this.shutdown(0);
    this.closing.abort();
    await Promise.all(this.retrying);
    await this.deps.queue.close();
    await this.deps.events.close();
  }

  private async process(id: string): Promise<JobOutcome> {
    const record = await this.deps.queue.read(id);
    if (!record?.work || isFinal(record.view.status)) return "done";
    if (this.stopping) return "requeue";
    let stop!: (outcome: JobOutcome) => void;
    const stopped = new Promise<JobOutcome>((resolve) => (stop = resolve));
    const running: Running = { record, trace: undefined, sent: false, abort: new AbortController(), cut: false, stop };
    this.running.set(id, running);
    try {
      return await Promise.race([this.run(running), stopped]);
    } finally {
      this.running.delete(id);
      if (this.running.size === 0) this.idle?.();
    }
  }

  private meta(record: JobRecord): RequestMeta {
    const { submission } = record;
    // Total time runs from the submission: its epoch time mapped onto this process's monotonic clock.
    return {
      receivedAtMono: this.monotonicMs() - Math.max(0, this.now() - record.view.createdAt),
      requestId: submission.requestId,
      operationName: submission.operationName,
      clientIp: submission.clientIp,
      clientKey: submission.clientKey,
    };
  }

  /** The call record of a job, with the facts its submission learnt. */
  private jobTrace(trace: CallTrace, record: JobRecord, work: JobWork, startedAt: number): void {
    trace.jobId = record.view.id;
    trace.params = work.params;
    trace.inputs = work.inputTraces;
    if (work.phases.upload !== undefined) trace.phases.upload = work.phases.upload;
    if (work.phases.preprocess !== undefined) trace.phases.preprocess = work.phases.preprocess;
    trace.phases.jobQueue = Math.max(0, startedAt - record.view.createdAt);
  }

  private async run(running: Running): Promise<JobOutcome> {
    const { record } = running;
    const work = record.work!;
    const id = record.view.id;
    const startedAt = this.now();
    const book = new CallBook(this.deps.provider, this.deps.apiKey, this.now, undefined, record.submission.api);
    const interrupted = new GatewayError(ErrorCode.UPSTREAM_INTERRUPTED, INTERRUPTED_MESSAGE);
    let outcome: GenerationOutcome | undefined;
    let failure: GatewayError | undefined;
    try {
      ({ outcome } = await book.run(undefined, undefined, async (trace) => {
        running.trace = trace;
        this.jobTrace(trace, record, work, startedAt);
        if (await this.deps.queue.wasSent(id)) {
          // Picked up again after its worker died with the generation sent: it is not sent twice.
          trace.upstream.attempts = 1;
          throw interrupted;
        }
        await this.change(record, { status: JobStatus.RUNNING, startedAt, queuePosition: null });
        this.deps.metrics?.jobStarted(startedAt - record.view.createdAt);
        const prepared = await this.restore(work);
        return this.deps.generation.execute(prepared, trace, {
          waitForCapacity: true,
          signal: running.abort.signal,
          beforeSend: async () => {
            running.abort.signal.throwIfAborted();
            const refusal = this.deps.spendingRefusal?.();
            if (refusal) throw refusal;
            if (!(await this.deps.queue.markSent(id, this.deps.recordTtlMs))) throw interrupted;
            running.sent = true;
          },
        });
      }));
    } catch (error) {
      failure = asGatewayError(error);
    }
    if (running.cut) return "done";
    if (failure && running.abort.signal.aborted && !running.sent) {
      // Stopped before anything was sent: back in the queue, its line to be written by whoever runs it.
      await this.change(record, { status: JobStatus.QUEUED, startedAt: null });
      return "requeue";
    }
    this.deps.recorder.record(book.traces, this.meta(record));
    const trace = book.traces[0]!;
    if (outcome) {
      await this.finish(record, { status: JobStatus.SUCCEEDED, result: resultOf(trace, record, outcome, this.now() - startedAt) });
    } else {
      await this.finish(record, { status: JobStatus.FAILED, error: { code: failure!.code, message: failure!.message } });
    }
    return "done";
  }

  /** At the shutdown deadline: a job still running after its send gets its line and ends UPSTREAM_INTERRUPTED. */
  private async cut(running: Running): Promise<void> {
    if (running.cut) return;
    running.cut = true;
    const { record } = running;
    if (!running.sent) {
      // Nothing went upstream: another worker runs it, and writes its line.
      await this.change(record, { status: JobStatus.QUEUED, startedAt: null });
      running.stop("requeue");
      return;
    }
    const message = "the replica running the job shut down while SiliconFlow was generating it: it may have run and been billed, and it is not sent again";
    const trace = running.trace;
    if (trace) {
      cutCall(trace, { code: ErrorCode.UPSTREAM_INTERRUPTED, message });
      this.deps.recorder.record([trace], this.meta(record));
    }
    await this.finish(record, { status: JobStatus.FAILED, error: { code: ErrorCode.UPSTREAM_INTERRUPTED, message } });
    running.stop("done");
  }

  /** A job the engine gave up on without the processor ending it (its workers died again and again). */
  private async lost(id: string): Promise<void> {
    const record = await this.deps.queue.read(id).catch(() => null);
    if (!record?.work || isFinal(record.view.status)) return;
    const sent = await this.deps.queue.wasSent(id).catch(() => true);
    const failure = sent
      ? new GatewayError(ErrorCode.UPSTREAM_INTERRUPTED, INTERRUPTED_MESSAGE)
      : new GatewayError(ErrorCode.INTERNAL_SERVER_ERROR, "the job's workers stopped before sending it, too often; it was not sent and is not tried again");
    const book = new CallBook(this.deps.provider, this.deps.apiKey, this.now, undefined, record.submission.api);
    await book
      .run(undefined, undefined, async (trace) => {
        this.jobTrace(trace, record, record.work!, record.view.startedAt ?? this.now());
        if (sent) trace.upstream.attempts = 1;
        throw failure;
      })
      .catch(() => undefined);
    this.deps.recorder.record(book.traces, this.meta(record));
    await this.finish(record, { status: JobStatus.FAILED, error: { code: failure.code, message: failure.message } });
  }

  private async change(record: JobRecord, changes: Partial<JobView>): Promise<JobView | undefined> {
    record.view = { ...record.view, ...changes };
    try {
      await this.deps.queue.save(record, this.deps.recordTtlMs);
    } catch (error) {
      this.deps.onError?.(error, `the state ${record.view.status} of job ${record.view.id} could not be saved`);
      return undefined;
    }
    this.deps.metrics?.jobState(record.view.status);
    const view = record.view.status === JobStatus.QUEUED ? await this.withPosition(record.view) : record.view;
    await this.publish(view);
    return view;
  }

  /** A final state: saved without the work, published, the inputs deleted, the webhook told. */
  private async finish(record: JobRecord, end: { status: JobStatus; result?: JobResult; error?: JobError }): Promise<JobView> {
    const work = record.work;
    record.work = null;
    const saved = await this.change(record, { status: end.status, result: end.result ?? null, error: end.error ?? null, finishedAt: this.now(), queuePosition: null });
    if (!saved) {
      // Redis is down: the job ran (its line is written), and its end must not be lost, nor the job be
      // found RUNNING and ended UPSTREAM_INTERRUPTED when its lock lapses. Saved when Redis is back.
      this.retry(`the end (${end.status}) of job ${record.view.id} could not be saved`, async () => {
        await this.deps.queue.save(record, this.deps.recordTtlMs);
        this.deps.metrics?.jobState(record.view.status);
        await this.publish(record.view);
      });
    }
    const view = saved ?? record.view;
    if (work) await this.dropInputs(work);
    await this.release(record.view.id, record.submission.clientKey);
    if (record.webhookUrl) this.deps.notifier.finished(record.webhookUrl, view);
    return view;
  }

  private async publish(view: JobView): Promise<void> {
    await this.deps.events.publish(view).catch((error: unknown) => this.deps.onError?.(error, `the state ${view.status} of job ${view.id} could not be published`));
  }

  private async withPosition(view: JobView): Promise<JobView> {
    if (view.status !== JobStatus.QUEUED) return view;
    // Not waiting any more while still QUEUED: a worker has just taken it and is about to mark it RUNNING, so
    // nothing is ahead of it. Only a failed read leaves the position unknown.
    const queuePosition = await this.deps.queue.position(view.id).then(
      (position) => position ?? 0,
      () => null,
    );
    return { ...view, queuePosition };
  }

  private async visible(id: string, caller: Caller): Promise<JobRecord | null> {
    // Job ids are UUIDs: anything else is no job, and is not looked up.
    if (!/^[0-9a-f-]{36}$/.test(id)) return null;
    const record = await this.store(() => this.deps.queue.read(id));
    if (!record) return null;
    return record.owner === null || record.owner === caller.clientKey ? record : null;
  }

  private async idempotent(scope: string, caller: Caller): Promise<JobView | undefined> {
    const holder = await this.store(() => this.deps.queue.findIdempotent(scope));
    return holder ? ((await this.get(holder, caller)) ?? undefined) : undefined;
  }

  /** The winner of a race on one idempotency key saves its record a moment after it claims the key. */
  private async waitForRecord(id: string, caller: Caller): Promise<JobView | null> {
    for (let i = 0; i < 50; i++) {
      const view = await this.get(id, caller);
      if (view) return view;
      await sleep(20);
    }
    return null;
  }

  /** A place among the jobs not ended yet, or TOO_MANY_JOBS: nothing is kept or queued for a refused one. */
  private async admit(id: string, clientKey: string): Promise<void> {
    const { caps } = this.deps;
    const answer = await this.store(() => this.deps.queue.admit(id, clientKey, caps, this.deps.recordTtlMs));
    if (answer === "client") {
      throw new GatewayError(
        ErrorCode.TOO_MANY_JOBS,
        `this client has ${caps.perClient} generation jobs queued or running, the most it may have (GATEWAY_MAX_QUEUED_JOBS_PER_CLIENT): submit again when one has ended; nothing was queued`,
      );
    }
    if (answer === "total") {
      throw new GatewayError(
        ErrorCode.TOO_MANY_JOBS,
        `the gateway has ${caps.total} generation jobs queued or running, the most it takes (GATEWAY_MAX_QUEUED_JOBS): submit again later; nothing was queued`,
      );
    }
  }

  private async release(id: string, clientKey: string): Promise<void> {
    await this.deps.queue
      .release(id, clientKey)
      .catch(() => this.retry(`job ${id}'s place among its client's jobs could not be freed`, () => this.deps.queue.release(id, clientKey)));
  }

  /**
   * Retries a write to the engine's store that failed (Redis down) with backoff until it succeeds, in the
   * background; at close it is tried once more, then given up and logged.
   */
  private retry(what: string, write: () => Promise<void>): void {
    const attempt = () =>
      write().then(
        () => true,
        () => false,
      );
    const loop = async () => {
      for (let delayMs = 250; !this.closing.signal.aborted; delayMs = Math.min(delayMs * 2, 5_000)) {
        await sleep(delayMs, undefined, { signal: this.closing.signal }).catch(() => undefined);
        if (await attempt()) return;
      }
      this.deps.onError?.(new Error(what), `${what}, and the gateway is closing: given up`);
    };
    const running: Promise<void> = loop().finally(() => this.retrying.delete(running));
    this.retrying.add(running);
  }

  /** A call on the engine's store from a client's request: its failure (Redis unreachable) is JOBS_UNAVAILABLE, not a fault. */
  private async store<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      if (error instanceof GatewayError) throw error;
      throw new GatewayError(
        ErrorCode.JOBS_UNAVAILABLE,
        `the gateway cannot reach the store of its generation jobs${this.deps.queue.durable ? " (Redis)" : ""} now; nothing was queued or sent to SiliconFlow: try again shortly`,
        { cause: error },
      );
    }
  }

  private refuseUnknown(): never {
    throw new GatewayError(ErrorCode.JOB_NOT_FOUND, "no generation job with this id: it never existed, its record expired, or it was submitted with another token", {
      field: "id",
    });
  }

  private async keepInputs(id: string, prepared: PreparedGeneration, trace: CallTrace): Promise<JobWork> {
    const inputs = prepared.images.map(({ data: _data, ...image }) => ({ ...image, name: jobInputName(id, image.index) }));
    const work: JobWork = {
      params: prepared.params,
      modelId: prepared.modelId,
      fields: prepared.fields,
      cacheKey: prepared.cacheKey,
      imageCount: prepared.imageCount,
      publicBaseUrl: prepared.publicBaseUrl,
      inputs,
      inputTraces: trace.inputs,
      phases: { upload: trace.phases.upload, preprocess: trace.phases.preprocess },
    };
    try {
      await Promise.all(prepared.images.map((image, i) => this.deps.store.putJobInput(inputs[i]!.name, image.data)));
    } catch (error) {
      await this.dropInputs(work);
      throw error;
    }
    return work;
  }

  private async restore(work: JobWork): Promise<PreparedGeneration> {
    const images = await Promise.all(
      work.inputs.map(async ({ name, ...image }) => {
        const data = await this.deps.store.readJobInput(name);
        if (!data) throw new GatewayError(ErrorCode.STORAGE_UNAVAILABLE, `the job's input image ${image.index} is no longer in the image store; nothing was sent`);
        return { ...image, mimeType: image.mimeType as UpstreamMime, data };
      }),
    );
    return { params: work.params, modelId: work.modelId, fields: work.fields, images, cacheKey: work.cacheKey, imageCount: work.imageCount, publicBaseUrl: work.publicBaseUrl };
  }

  private async dropInputs(work: JobWork): Promise<void> {
    await Promise.all(work.inputs.map((input) => this.deps.store.deleteJobInput(input.name).catch(() => undefined)));
  }
}

/** Whose idempotency key it is: the client (token, else address) and the key, hashed so neither is kept as written. */
function idempotencyScope(caller: Caller, key: string): string {
  if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_CHARS) {
    throw badInput("idempotencyKey", `an idempotency key has 1 to ${MAX_IDEMPOTENCY_KEY_CHARS} characters, got ${key.length}`);
  }
  return createHash("sha256").update(caller.clientKey).update("\n").update(key).digest("hex");
}

function resultOf(trace: CallTrace, record: JobRecord, outcome: GenerationOutcome, totalMs: number): JobResult {
  return {
    callId: trace.callId,
    provider: trace.provider,
    model: record.view.model,
    seed: outcome.seed,
    images: outcome.images.map(({ index, url, width, height, mimeType, bytes, fileName }) => ({ index, url, width, height, mimeType, bytes, fileName })),
    timings: { inferenceSeconds: outcome.inferenceSeconds, totalMs: Math.round(totalMs * 1000) / 1000 },
    cacheHit: outcome.cacheHit,
  };
}
