import { cutCall, finishCall, type CallTrace } from "./call-trace.js";
import type { GatewayMetrics } from "../observability/metrics.js";
import { callSecrets } from "./book.js";
import { toCallLogRecord, type ClientTextPolicy } from "./format.js";
import type { CallLogWriter } from "./writer.js";

export interface RequestMeta {
  /** Monotonic ms when the HTTP request arrived: total time runs from here to the response. */
  receivedAtMono: number;
  requestId: string;
  operationName: string | null;
  clientIp: string | null;
  /** Who the refusal budget counts against: `token:<n>` or `ip:<address>`. */
  clientKey: string;
}

/** What receives a request's calls once they are over: the recorder, or something in front of it. */
export interface CallSink {
  /** A call has started: until it is recorded, a shutdown must account for it. */
  begin(trace: CallTrace, meta: RequestMeta): void;
  record(traces: readonly CallTrace[], meta: RequestMeta): void;
}

export interface CallRecorderEvents {
  onWriteError: (error: unknown) => void;
  /** A call failed on the gateway's side (a crash, a disk): the application log should say why. */
  onFault?: (trace: CallTrace, meta: RequestMeta) => void;
  /** A call's line was written already (cut at shutdown) and the call has now ended after all. */
  onLate?: (trace: CallTrace) => void;
}

/** Codes that are the gateway's own failure, not the caller's or SiliconFlow's. */
const FAULTS = new Set(["INTERNAL_SERVER_ERROR", "STORAGE_UNAVAILABLE"]);

/**
 * Writes a request's calls to the call log, one line each, refusals and crashes included, and counts them.
 * It also knows which calls are under way, so that a shutdown cutting them still writes their lines.
 */
export class CallRecorder implements CallSink {
  /** Calls begun and not yet recorded, with their request. */
  private readonly running = new Map<CallTrace, RequestMeta>();
  /** Calls whose line is written: a second record() of one is not a second line. */
  private readonly written = new WeakSet<CallTrace>();
  private idle: (() => void) | undefined;

  constructor(
    private readonly writer: Pick<CallLogWriter, "write">,
    /** Who writes the lines: the gateway's version and this replica's name. */
    private readonly writtenBy: { gatewayVersion: string; replica: string },
    private readonly monotonicMs: () => number,
    private readonly events: CallRecorderEvents,
    private readonly clientText: ClientTextPolicy,
    private readonly metrics?: GatewayMetrics,
  ) {}

  /** A call has started: until it is recorded, a shutdown must account for it. */
  begin(trace: CallTrace, meta: RequestMeta): void {
    this.running.set(trace, meta);
  }

  /** How many calls have begun and are not recorded yet. */
  get inFlight(): number {
    return this.running.size;
  }

  /** Resolves when no call is under way. */
  whenIdle(): Promise<void> {
    if (this.running.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const previous = this.idle;
      this.idle = () => {
        previous?.();
        resolve();
      };
    });
  }

  record(traces: readonly CallTrace[], meta: RequestMeta): void {
    const totalMs = this.monotonicMs() - meta.receivedAtMono;
    for (const trace of traces) {
      this.running.delete(trace);
      if (this.written.has(trace)) {
        this.events.onLate?.(trace);
        continue;
      }
      // The response is leaving without the call having finished: it failed, whatever the cause.
      finishCall(trace, { code: "INTERNAL_SERVER_ERROR", message: "the call did not complete" });
      if (trace.status === "failed" && trace.error && FAULTS.has(trace.error.code)) this.events.onFault?.(trace, meta);
      this.write(trace, meta, totalMs);
    }
    this.notifyIfIdle();
  }

  /**
   * Writes the line of every call still under way as failed with `code`: the shutdown is about to cut
   * them. Should one finish after all, its line is not written again (see `onLate`).
   */
  interruptRunning(code: string, message: (trace: CallTrace) => string): number {
    const running = [...this.running];
    this.running.clear();
    for (const [trace, meta] of running) {
      cutCall(trace, { code, message: message(trace) });
      this.write(trace, meta, this.monotonicMs() - meta.receivedAtMono);
    }
    this.notifyIfIdle();
    return running.length;
  }

  private write(trace: CallTrace, meta: RequestMeta, totalMs: number): void {
    this.written.add(trace);
    this.metrics?.observeCall(trace, totalMs);
    const own = callSecrets(trace);
    const policy = own.length === 0 ? this.clientText : { ...this.clientText, secrets: [...this.clientText.secrets, ...own] };
    const record = toCallLogRecord(trace, { ...meta, totalMs, ...this.writtenBy }, policy);
    try {
      this.writer.write(record);
    } catch (error) {
      this.events.onWriteError(error);
    }
  }

  private notifyIfIdle(): void {
    if (this.running.size > 0 || !this.idle) return;
    const idle = this.idle;
    this.idle = undefined;
    idle();
  }
}
