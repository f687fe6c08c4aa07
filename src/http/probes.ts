import type { FastifyInstance } from "fastify";
import type { CallLogWriter } from "../call-log/writer.js";
import type { Lifecycle } from "../lifecycle.js";
import type { GatewayMetrics } from "../observability/metrics.js";

export interface ProbeOptions {
  version: string;
  startedAt: number;
  now: () => number;
  lifecycle: Lifecycle;
  callLog: Pick<CallLogWriter, "unavailableReason">;
  /** Serves `/metrics` when given. */
  metrics?: GatewayMetrics;
}

/**
 * The probes an orchestrator polls. `/health` is liveness: 200 while the process serves HTTP, whatever
 * SiliconFlow's state, so a SiliconFlow outage never gets the gateway restarted. `/ready` says whether to
 * send traffic: not before listening, not while draining, and not while the call log cannot be written.
 */
export function registerProbes(fastify: FastifyInstance, { version, startedAt, now, lifecycle, callLog, metrics }: ProbeOptions): void {
  fastify.get("/health", async () => ({ status: "ok", version, uptimeSeconds: (now() - startedAt) / 1000 }));
  fastify.get("/ready", async (_request, reply) => {
    const callLogReason = callLog.unavailableReason;
    const state = lifecycle.state;
    const ready = state === "ready" && callLogReason === undefined;
    return reply
      .code(ready ? 200 : 503)
      .send({ ready, state, ...(state === "ready" && callLogReason !== undefined ? { reason: `the call log cannot be written: ${callLogReason}` } : {}) });
  });
  if (metrics) {
    fastify.get("/metrics", async (_request, reply) => reply.header("content-type", metrics.registry.contentType).send(await metrics.registry.metrics()));
  }
}
