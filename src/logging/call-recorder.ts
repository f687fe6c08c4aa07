import type { CallTrace } from "../services/call-trace.js";
import type { GatewayMetrics } from "../services/metrics.js";
import { toCallLogRecord, type ClientTextPolicy } from "./call-log-format.js";
import type { CallLogWriter } from "./call-log-writer.js";

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
  record(traces: readonly CallTrace[], meta: RequestMeta): void;
}

/** Writes a request's calls to the call log, one line each, refusals and crashes included, and counts them. */
export class CallRecorder implements CallSink {
  constructor(
    private readonly writer: Pick<CallLogWriter, "write">,
    private readonly gatewayVersion: string,
    private readonly monotonicMs: () => number,
    private readonly onWriteError: (error: unknown) => void,
    private readonly clientText: ClientTextPolicy,
    private readonly metrics?: GatewayMetrics,
  ) {}

  record(traces: readonly CallTrace[], meta: RequestMeta): void {
    const totalMs = this.monotonicMs() - meta.receivedAtMono;
    for (const trace of traces) {
      if (trace.status === "pending") {
        // The response is leaving without the call having finished: it failed, whatever the cause.
        trace.status = "failed";
        trace.error ??= { code: "INTERNAL_SERVER_ERROR", message: "the call did not complete" };
      }
      this.metrics?.observeCall(trace, totalMs);
      const record = toCallLogRecord(trace, { ...meta, totalMs, gatewayVersion: this.gatewayVersion }, this.clientText);
      try {
        this.writer.write(record);
      } catch (error) {
        this.onWriteError(error);
      }
    }
  }
}
