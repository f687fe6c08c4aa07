import type { FastifyInstance, FastifyRequest } from "fastify";
import type { CallLogWriter } from "../call-log/writer.js";
import type { Lifecycle } from "../lifecycle.js";
import type { GatewayMetrics } from "../observability/metrics.js";
import type { ImageStore } from "../storage/image-store.js";
import { healthModelSchema, type HealthModel } from "./rest/health-models.js";

export interface ProbeOptions {
  version: string;
  startedAt: number;
  now: () => number;
  lifecycle: Lifecycle;
  callLog: Pick<CallLogWriter, "unavailableReason">;
  store: Pick<ImageStore, "unavailableReason">;
  /** Serves `/metrics` when given. */
  metrics?: GatewayMetrics;
  /** The available models `/health` lists, as the original REST API's clients read them. */
  models?: { list(): readonly HealthModel[] };
  /** Whether this request may see the models (not when queries are protected and it has no token). */
  showsModels?: (request: FastifyRequest) => boolean;
}

const healthSchema = {
  summary: "Liveness, and the models that can be called",
  description: "200 while the process serves HTTP, whatever SiliconFlow's state. The models come from the gateway's last model list, never from a call made for the probe.",
  tags: ["rest"],
  response: {
    200: {
      type: "object",
      required: ["status", "version", "uptimeSeconds"],
      properties: {
        status: { type: "string", description: "`ok` while the process serves (draining included: `/ready` tells)." },
        version: { type: "string" },
        uptimeSeconds: { type: "number" },
        models: {
          type: "array",
          items: healthModelSchema,
          description: "The available models; absent without a client token when queries are protected.",
        },
      },
    },
  },
} as const;

/**
 * The probes an orchestrator polls. `/health` is liveness: 200 while the process serves HTTP, whatever
 * SiliconFlow's state, so a SiliconFlow outage never gets the gateway restarted. It also lists the
 * available models, as the original REST API's `/health` did, from what the registry holds. `/ready` says whether to
 * send traffic: not before listening, not while draining, not while the call log cannot be written, and not
 * while the image store cannot be used.
 */
export function registerProbes(fastify: FastifyInstance, { version, startedAt, now, lifecycle, callLog, store, metrics, models, showsModels }: ProbeOptions): void {
  fastify.get("/health", { schema: healthSchema }, async (request) => ({
    status: "ok",
    version,
    uptimeSeconds: (now() - startedAt) / 1000,
    ...(models && (showsModels?.(request) ?? true) ? { models: models.list() } : {}),
  }));
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
