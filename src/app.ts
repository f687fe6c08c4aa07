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
import type { CallLogWriter } from "./logging/call-log-writer.js";
import { CallRecorder } from "./logging/call-recorder.js";
import { callLogPlugin } from "./plugins/call-log.plugin.js";
import { noStorePlugin } from "./plugins/no-store.plugin.js";
import { protectQueriesPlugin } from "./plugins/protect-queries.plugin.js";
import { queryLimitsPlugin } from "./plugins/query-limits.plugin.js";
import { ConcurrencyGate } from "./services/concurrency-gate.js";
import { GatewayMetrics } from "./services/metrics.js";
import { RateLimits } from "./services/rate-limits.js";
import { RefusalLimits } from "./services/refusal-limits.js";
import { countRefusals, registerRefusalGuard } from "./http/refusal-guard.js";
import { ResultCache } from "./services/result-cache.js";
import { GeneratedImageResolver, GenerationResolver } from "./resolvers/generation.resolver.js";
import { HealthResolver } from "./resolvers/health.resolver.js";
import { buildGatewaySchema } from "./schema/build-schema.js";
import { formatError } from "./schema/errors.js";
import type { Provider } from "./services/call-trace.js";
import { GenerationService, type ImageGenerator } from "./services/generation.service.js";
import { ImageStore } from "./services/image-store.js";
import type { HealthService } from "./services/health.service.js";
import type { ModelRegistry } from "./services/model-registry.js";
import { ModelResolver } from "./resolvers/model.resolver.js";

export const GRAPHQL_PATH = "/graphql";

export interface AppDeps {
  provider: Provider;
  /** The key calls are made with, for masking in the log; undefined with the simulator's default. */
  apiKey: string | undefined;
  upstream: ImageGenerator;
  registry: ModelRegistry;
  health: HealthService;
  callLog: Pick<CallLogWriter, "write">;
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
  await store.init();
  const metrics = new GatewayMetrics();
  const refusals = new RefusalLimits({ perMinute: config.rateLimit.refusalsPerMinute, redis: deps.rateLimitStore });

  const service = new GenerationService({
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

  const recorder = countRefusals(
    new CallRecorder(
      deps.callLog,
      deps.version,
      monotonicMs,
      (error) => deps.logger.error({ err: error }, "call log write failed"),
      { maxPromptChars: config.limits.maxPromptLength, secrets: [...(deps.apiKey ? [deps.apiKey] : []), ...config.auth.tokens] },
      metrics,
    ),
    refusals,
  );

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
      callLogPlugin(recorder),
      queryLimitsPlugin(schema, {
        maxDepth: config.limits.maxQueryDepth,
        maxComplexity: config.limits.maxQueryComplexity,
        maxGenerations: config.limits.maxGenerationsPerRequest,
      }),
      ...(config.auth.protectQueries && config.auth.tokens.length > 0 ? [protectQueriesPlugin()] : []),
    ],
  });
  await apollo.start();

  const contexts = new RequestContexts({ config, provider: deps.provider, apiKey: deps.apiKey, recorder, now, monotonicMs });
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
    const ready = lifecycle === "ready";
    return reply.code(ready ? 200 : 503).send({ ready, state: lifecycle });
  });

  await fastify.register(fastifyApollo(apollo), {
    path: GRAPHQL_PATH,
    context: async (request): Promise<GatewayContext> => contexts.contextFor(request),
  });

  const address = await fastify.listen({ host: config.host, port: config.port });
  lifecycle = "ready";
  const url = new URL(address);
  if (url.hostname === "0.0.0.0" || url.hostname === "[::]") url.hostname = "127.0.0.1";

  return {
    url: url.origin,
    fastify,
    close: async () => {
      lifecycle = "draining";
      // Stop accepting, let calls in flight finish (they are paid for) and be logged; cut what is left at the deadline.
      const deadline = setTimeout(() => fastify.server.closeAllConnections(), config.shutdownTimeoutMs);
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
    },
  };
}
