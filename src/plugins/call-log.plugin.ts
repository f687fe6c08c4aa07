import type { ApolloServerPlugin } from "@apollo/server";
import type { GatewayContext } from "../context.js";
import { toCallLogRecord } from "../logging/call-log-format.js";
import type { CallLogWriter } from "../logging/call-log-writer.js";

export interface CallLogPluginOptions {
  writer: Pick<CallLogWriter, "write">;
  gatewayVersion: string;
  /** Monotonic ms, the clock of `receivedAtMono`. */
  monotonicMs?: () => number;
  onWriteError: (error: unknown) => void;
}

/**
 * Owns the call records of a request: the generation service fills one per call, and this writes them,
 * one line each, before the response leaves (so a line survives a crash right after the response).
 */
export function callLogPlugin(options: CallLogPluginOptions): ApolloServerPlugin<GatewayContext> {
  const monotonicMs = options.monotonicMs ?? (() => performance.now());
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ contextValue, request }) {
          const traces = contextValue.calls.traces;
          if (traces.length === 0) return;
          const totalMs = monotonicMs() - contextValue.receivedAtMono;
          for (const trace of traces) {
            if (trace.status === "pending") {
              trace.status = "failed";
              trace.error ??= { code: "INTERNAL_SERVER_ERROR", message: "the call did not complete" };
            }
            const record = toCallLogRecord(trace, {
              totalMs,
              requestId: contextValue.requestId,
              operationName: request.operationName ?? null,
              clientIp: contextValue.clientIp,
              gatewayVersion: options.gatewayVersion,
            });
            try {
              options.writer.write(record);
            } catch (error) {
              options.onWriteError(error);
            }
          }
          traces.length = 0;
        },
      };
    },
  };
}
