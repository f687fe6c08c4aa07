import { randomUUID } from "node:crypto";
import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import fastifyApollo from "@as-integrations/fastify";
import Fastify, { type FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { GatewayConfig } from "./config/config.schema.js";
import type { GatewayContext } from "./context.js";
import cors from "@fastify/cors";
import { registerBodyTimeouts, requestTimeoutOptions } from "./http/body-timeouts.js";
import { capConnectionsPerAddress } from "./http/connection-cap.js";
import { registerErrorHandlers } from "./http/error-handler.js";
import { registerGetMutationRefusal } from "./http/get-mutation.js";
import { registerImageRoute } from "./http/images.route.js";
import { registerMultipart } from "./http/multipart.js";
import { RequestContexts } from "./http/request-context.js";
import { registerRequestLog } from "./http/request-log.js";
import { registerPlayground } from "./http/playground.js";
import { registerWebApp, WEB_DIST_DIR } from "./http/web-app.js";
import type { CallLogWriter } from "./call-log/writer.js";
import { CallRecorder } from "./call-log/recorder.js";
import { callLogPlugin } from "./call-log/call-log.plugin.js";
import { noStorePlugin } from "./plugins/no-store.plugin.js";
import { protectQueriesPlugin } from "./plugins/protect-queries.plugin.js";
import { queryLimitsPlugin } from "./plugins/query-limits.plugin.js";
import { ConcurrencyGate } from "./limits/concurrency-gate.js";
import { GatewayMetrics } from "./observability/metrics.js";
import { RateLimits } from "./limits/rate-limits.js";
import { RefusalLimits } from "./limits/refusal-limits.js";
import { countRefusals, registerRefusalGuard } from "./http/refusal-guard.js";
import { ResultCache } from "./storage/result-cache.js";
import { GeneratedImageResolver, GenerationResolver } from "./resolvers/generation.resolver.js";
import { HealthResolver } from "./resolvers/health.resolver.js";
import { buildGatewaySchema } from "./schema/build-schema.js";
import { formatError } from "./schema/errors.js";
import type { Provider } from "./call-log/call-trace.js";
import { ErrorCode, GatewayError } from "./errors.js";
import { GenerationService, type ImageGenerator } from "./generation/generation.service.js";
import { ImageStore } from "./storage/image-store.js";
import type { HealthService } from "./upstream/health.service.js";
import type { ModelRegistry } from "./models/model-registry.js";
import { ModelResolver } from "./resolvers/model.resolver.js";

export const GRAPHQL_PATH = "/graphql";

export interface AppDeps {
  provider: Provider;
  /** The key calls are made with, for masking in the log; undefined with the simulator's default. */
  apiKey: string | undefined;
  upstream: ImageGenerator;
  registry: ModelRegistry;
  health: HealthService;
  callLog: Pick<CallLogWriter, "write" | "available" | "unavailableReason">;
  logger: Logger;
  version: string;
  /** An ioredis client for rate-limit counters shared between gateways. */
  rateLimitStore?: unknown;
  now?: () => number;
  monotonicMs?: () => number;
}

export interface GatewayApp {
  /** Where it listens, e.g. `http://127.0.0.1:4000`. */
  url: string;
  fastify: FastifyInstance;
  close(): Promise<void>;
}

const REQUEST_ID = /^[\w.:-]{1,64}$/;

export async function createApp(config: GatewayConfig, deps: AppDeps): Promise<GatewayApp> {
  const now = deps.now ?? Date.now;
  const monotonicMs = deps.monotonicMs ?? (() => performance.now());
  const startedAt = now();
  /** Readiness for load balancers: not ready until listening, and not once stopping. */
  let lifecycle: "starting" | "ready" | "draining" = "starting";

  const store = new ImageStore(config.dataDir);
  const removed = await store.init(startedAt);
  if (removed > 0) deps.logger.warn({ dir: store.dir, removed }, `removed ${removed} temporary files left in ${store.dir} by an earlier run that stopped mid-write`);
  const metrics = new GatewayMetrics();
  const refusals = new RefusalLimits({ perMinute: config.rateLimit.refusalsPerMinute, redis: deps.rateLimitStore });

  const service = new GenerationService({
    refusal: () => {
      if (lifecycle === "draining") {
        return new GatewayError(ErrorCode.SHUTTING_DOWN, "the gateway is shutting down and starts no new generation; retry and another instance will take it");
      }
      if (!deps.callLog.available) {
        return new GatewayError(
          ErrorCode.CALL_LOG_UNAVAILABLE,
          `the gateway cannot write its call log (${deps.callLog.unavailableReason ?? "unknown reason"}), the record of every paid call, so it starts no new generation until it can; retry later`,
        );
      }
      return undefined;
    },
    registry: deps.registry,
    upstream: deps.upstream,
    store,
    monotonicMs,
    metrics,
    cache: config.cache.enabled ? new ResultCache({ maxEntries: config.cache.maxEntries, ttlMs: config.cache.ttlMs }) : undefined,
    gate: new ConcurrencyGate({
      max: config.siliconflow.maxConcurrency,
      maxQueue: config.siliconflow.maxQueue,
      queueTimeoutMs: config.siliconflow.queueTimeoutMs,
    }),
    rateLimits: new RateLimits({
      callsPerWindow: config.rateLimit.callsPerWindow,
      windowSeconds: config.rateLimit.windowSeconds,
      imagesPerMinute: config.limits.imagesPerMinute,
      redis: deps.rateLimitStore,
    }),
    limits: {
      maxUploadBytes: config.uploads.maxBytes,
      maxFiles: config.uploads.maxFiles,
      maxPromptLength: config.limits.maxPromptLength,
      images: { maxLongSide: config.uploads.maxLongSide, maxInputPixels: config.uploads.maxInputPixels },
    },
  });

  const schema = await buildGatewaySchema(
    new Map<Parameters<typeof buildGatewaySchema>[0] extends Map<infer K, object> ? K : never, object>([
      [GenerationResolver, new GenerationResolver(service, monotonicMs)],
      [GeneratedImageResolver, new GeneratedImageResolver(store)],
      [ModelResolver, new ModelResolver(deps.registry)],
      [
        HealthResolver,
        new HealthResolver({
          health: deps.health,
          registry: deps.registry,
          provider: deps.provider,
          version: deps.version,
          startedAt,
          now,
          isDraining: () => lifecycle === "draining",
        }),
      ],
    ]),
  );

  const recorder = new CallRecorder(
    deps.callLog,
    deps.version,
    monotonicMs,
    {
      onWriteError: (error) => deps.logger.error({ err: error }, "call log write failed"),
      onFault: (trace, meta) =>
        deps.logger.error(
          { callId: trace.callId, reqId: meta.requestId, code: trace.error?.code, err: trace.error?.cause },
          `call ${trace.callId} failed: ${trace.error?.message ?? "unknown error"}`,
        ),
      onLate: (trace) =>
        deps.logger.warn(
          { callId: trace.callId, status: trace.status },
          `call ${trace.callId} finished after its line was written (cut at shutdown, logged as SHUTDOWN_INTERRUPTED); it ended ${trace.status}, the line stays as written`,
        ),
    },
    { maxPromptChars: config.limits.maxPromptLength, secrets: [...(deps.apiKey ? [deps.apiKey] : []), ...config.auth.tokens] },
    metrics,
  );
  const callSink = countRefusals(recorder, refusals);

  const fastify = Fastify({
    trustProxy: config.trustProxy,
    ...requestTimeoutOptions(config.limits.bodyTimeoutMs),
    genReqId: (request) => {
      const given = request.headers["x-request-id"];
      return typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
    },
  });
  capConnectionsPerAddress(fastify.server, config.limits.maxConnectionsPerAddress);
  registerRequestLog(fastify, deps.logger);
  registerErrorHandlers(fastify, deps.logger);
  if (config.corsOrigins.length > 0) {
    await fastify.register(cors, {
      origin: config.corsOrigins.includes("*") ? true : config.corsOrigins,
      methods: ["GET", "POST", "OPTIONS"],
      allowedHeaders: ["content-type", "authorization", "apollo-require-preflight", "x-apollo-operation-name", "x-request-id", "x-siliconflow-api-key"],
      exposedHeaders: ["x-request-id"],
      maxAge: 600,
    });
  }

  const apollo = new ApolloServer<GatewayContext>({
    schema,
    formatError,
    includeStacktraceInErrorResponses: false,
    csrfPrevention: true,
    allowBatchedHttpRequests: false,
    // main.ts owns the signals: Apollo's own handler would start a second stop() that never returns.
    stopOnTerminationSignals: false,
    introspection: config.introspection ?? !config.production,
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginCacheControlDisabled(),
      noStorePlugin(),
      callLogPlugin(callSink),
      queryLimitsPlugin(schema, {
        maxDepth: config.limits.maxQueryDepth,
        maxComplexity: config.limits.maxQueryComplexity,
        maxGenerations: config.limits.maxGenerationsPerRequest,
      }),
      ...(config.auth.protectQueries && config.auth.tokens.length > 0 ? [protectQueriesPlugin()] : []),
    ],
  });
  await apollo.start();

  const contexts = new RequestContexts({ config, provider: deps.provider, apiKey: deps.apiKey, recorder: callSink, now, monotonicMs });
  contexts.track(fastify);
  registerBodyTimeouts(fastify, {
    idleMs: config.limits.bodyIdleTimeoutMs,
    totalMs: config.limits.bodyTimeoutMs,
    path: GRAPHQL_PATH,
    onRefused: (request, code, message) => contexts.logRefusal(request, code, message),
  });
  registerRefusalGuard(fastify, {
    path: GRAPHQL_PATH,
    refusals,
    clientKeyOf: (request) => contexts.clientKeyOf(request),
    onRefused: (request, code, message) => contexts.logRefusal(request, code, message),
  });
  registerMultipart(fastify, GRAPHQL_PATH, {
    maxFileBytes: config.uploads.maxBytes,
    maxFiles: config.uploads.maxFiles,
    maxRequestBytes: config.limits.maxRequestBytes ?? config.uploads.maxFiles * config.uploads.maxBytes + 1_000_000,
    onRefused: (request, code, message) => contexts.logRefusal(request, code, message),
  });
  registerGetMutationRefusal(fastify, GRAPHQL_PATH, { onRefused: (request, code, message, calls) => contexts.logRefusal(request, code, message, calls) });
  registerImageRoute(fastify, store, deps.logger);
  registerWebApp(fastify, { root: WEB_DIST_DIR });
  await registerPlayground(fastify, { enabled: config.playground ?? !config.production, graphqlPath: GRAPHQL_PATH });
  // Liveness: 200 as long as the process serves HTTP, whatever SiliconFlow's state.
  fastify.get("/health", async () => ({ status: "ok", version: deps.version, uptimeSeconds: (now() - startedAt) / 1000 }));
  if (config.metrics) {
    fastify.get("/metrics", async (_request, reply) => reply.header("content-type", metrics.registry.contentType).send(await metrics.registry.metrics()));
  }
  fastify.get("/ready", async (_request, reply) => {
    const callLogReason = deps.callLog.unavailableReason;
    const ready = lifecycle === "ready" && callLogReason === undefined;
    return reply
      .code(ready ? 200 : 503)
      .send({ ready, state: lifecycle, ...(lifecycle === "ready" && callLogReason !== undefined ? { reason: `the call log cannot be written: ${callLogReason}` } : {}) });
  });

  await fastify.register(fastifyApollo(apollo), {
    path: GRAPHQL_PATH,
    context: async (request): Promise<GatewayContext> => contexts.contextFor(request),
  });

  const address = await fastify.listen({ host: config.host, port: config.port });
  lifecycle = "ready";
  const url = new URL(address);
  if (url.hostname === "0.0.0.0" || url.hostname === "[::]") url.hostname = "127.0.0.1";

  let closing: Promise<void> | undefined;
  const close = async (): Promise<void> => {
    lifecycle = "draining";
    const started = performance.now();
    // The listener stays open while calls run (they are paid for): /ready answers 503 rather than
    // refusing connections, and new generations get SHUTTING_DOWN, until the calls end or the deadline.
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      recorder.whenIdle().then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), config.shutdownTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      // Their connections are about to be cut: each call gets its line now, as its response never will.
      const cut = recorder.interruptRunning(ErrorCode.SHUTDOWN_INTERRUPTED, (trace) =>
        trace.upstream.attempts > 0
          ? "the gateway shut down before the call finished; it may have run and been billed"
          : "the gateway shut down before the call reached SiliconFlow",
      );
      deps.logger.warn({ calls: cut }, `shutdown deadline of ${config.shutdownTimeoutMs} ms passed: ${cut} calls still running were cut and logged as SHUTDOWN_INTERRUPTED`);
    }
    const remainingMs = Math.max(0, config.shutdownTimeoutMs - (performance.now() - started));
    const deadline = setTimeout(() => fastify.server.closeAllConnections(), remainingMs);
    // Node closes idle keep-alive connections once, when closing starts; one that turns idle a moment
    // later would hold the close until the deadline. Sweep until done.
    const sweep = setInterval(() => fastify.server.closeIdleConnections(), 50);
    try {
      await fastify.close();
    } finally {
      clearTimeout(deadline);
      clearInterval(sweep);
    }
    await apollo.stop();
  };

  return {
    url: url.origin,
    fastify,
    close: () => (closing ??= close()),
  };
}
