import type { FastifyInstance } from "fastify";
import type { CallLogWriter } from "../call-log/writer.js";
import type { Lifecycle } from "../lifecycle.js";
import type { GatewayMetrics } from "../observability/metrics.js";
import type { ImageStore } from "../storage/image-store.js";

export interface ProbeOptions {
  version: string;
  startedAt: number;
  now: () => number;
  lifecycle: Lifecycle;
  callLog: Pick<CallLogWriter, "unavailableReason">;
  store: Pick<ImageStore, "unavailableReason">;
  /** Serves `/metrics` when given. */
  metrics?: GatewayMetrics;
}

/**
 * The probes an orchestrator polls. `/health` is liveness: 200 while the process serves HTTP, whatever
 * SiliconFlow's state, so a SiliconFlow outage never gets the gateway restarted. `/ready` says whether to
 * send traffic: not before listening, not while draining, not while the call log cannot be written, and not
 * while the image store cannot be used.
 */
export function registerProbes(fastify: FastifyInstance, { version, startedAt, now, lifecycle, callLog, store, metrics }: ProbeOptions): void {
  fastify.get("/health", async () => ({ status: "ok", version, uptimeSeconds: (now() - startedAt) / 1000 }));
  fastify.get("/ready", async (_request, reply) => {
    const reason =
      callLog.unavailableReason !== undefined
        ? `the call log cannot be written: ${callLog.unavailableReason}`
        : store.unavailableReason !== undefined
          ? `the image store cannot be used: ${store.unavailableReason}`
          : undefined;
    const state = lifecycle.state;
    const ready = state === "ready" && reason === undefined;
    return reply.code(ready ? 200 : 503).send({ ready, state, ...(state === "ready" && reason !== undefined ? { reason } : {}) });
  });
  if (metrics) {
    fastify.get("/metrics", async (_request, reply) => reply.header("content-type", metrics.registry.contentType).send(await metrics.registry.metrics()));
  }
}
