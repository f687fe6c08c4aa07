import { randomUUID } from "node:crypto";
import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import fastifyApollo, { fastifyApolloHandler } from "@as-integrations/fastify";
import cors from "@fastify/cors";
import Fastify, { type FastifyInstance, type FastifyRequest, type RouteHandlerMethod } from "fastify";
import { callLogPlugin } from "../call-log/call-log.plugin.js";
import type { GatewayContext } from "../context.js";
import { httpSubscriptionPlugin } from "../plugins/http-subscription.plugin.js";
import { noStorePlugin } from "../plugins/no-store.plugin.js";
import { protectQueriesPlugin } from "../plugins/protect-queries.plugin.js";
import { queryLimitsPlugin } from "../plugins/query-limits.plugin.js";
import { GeneratedImageResolver, GenerationResolver } from "../resolvers/generation.resolver.js";
import { HealthResolver } from "../resolvers/health.resolver.js";
import { JobResolver } from "../resolvers/job.resolver.js";
import { JobSubscriptionResolver } from "../resolvers/job-subscription.resolver.js";
import { ModelResolver } from "../resolvers/model.resolver.js";
import { buildGatewaySchema, type ResolverClass, type ResolverInstances } from "../schema/build-schema.js";
import { formatError } from "../schema/errors.js";
import type { GatewayServices } from "../services.js";
import { registerBodyTimeouts, requestTimeoutOptions } from "./body-timeouts.js";
import { capConnectionsPerAddress } from "./connection-cap.js";
import { registerErrorHandlers } from "./error-handler.js";
import { registerGetMutationRefusal } from "./get-mutation.js";
import { registerImageRoute } from "./images.route.js";
import { registerMultipart } from "./multipart.js";
import { OPENAI_SDK_HEADERS, registerOpenAIFace } from "./openai/openai-face.js";
import { openAIRefusals } from "./openai/openai-refusals.js";
import { registerOpenApi } from "./openapi.js";
import { registerPlayground } from "./playground.js";
import { registerProbes } from "./probes.js";
import { countRefusals, registerRefusalGuard } from "./refusal-guard.js";
import { RequestContexts } from "./request-context.js";
import { registerSubscriptions } from "./subscriptions.js";
import { registerRequestLog } from "./request-log.js";
import { GenerateImagesRoute } from "./rest/generate-images.route.js";
import { HealthModels } from "./rest/health-models.js";
import { registerWebApp, WEB_DIST_DIR } from "./web-app.js";

export const GRAPHQL_PATH = "/graphql";

const REQUEST_ID = /^[\w.:-]{1,64}$/;

export interface HttpServer {
  fastify: FastifyInstance;
  apollo: ApolloServer<GatewayContext>;
}

/**
 * The HTTP face of the services: Fastify with its guards, Apollo with its plugins, the routes and the probes.
 * Hooks run in the order registered, so the cheap refusals (connections, stalled bodies, spent refusal
 * budgets) come before the multipart parser, and every refused request writes its call's line (a connection
 * closed by the per-address cap carries no request yet, and writes none).
 */
export async function buildHttpServer(services: GatewayServices): Promise<HttpServer> {
  const { config, logger, recorder, lifecycle, now, monotonicMs } = services;
  const resolvers: ResolverInstances = new Map<ResolverClass, object>([
    [GenerationResolver, new GenerationResolver(services.generation, monotonicMs)],
    [GeneratedImageResolver, new GeneratedImageResolver(services.store)],
    [ModelResolver, new ModelResolver(services.registry)],
    [JobResolver, new JobResolver(services.jobs)],
    [JobSubscriptionResolver, new JobSubscriptionResolver()],
    [
      HealthResolver,
      new HealthResolver({
        health: services.health,
        registry: services.registry,
        provider: services.provider,
        version: services.version,
        startedAt: services.startedAt,
        now,
        isDraining: () => lifecycle.draining,
        sharedState: services.sharedState,
      }),
    ],
  ]);
  const schema = await buildGatewaySchema(resolvers);
  const calls = countRefusals(recorder, services.refusals);
  // Client tokens guard the queries too (the model lists of GraphQL, /v1/models and /health), not only the calls.
  const protectQueries = config.auth.protectQueries && config.auth.tokens.length > 0;

  const fastify = Fastify({
    trustProxy: config.trustProxy,
    ...requestTimeoutOptions(config.limits.bodyTimeoutMs),
    genReqId: (request) => {
      const given = request.headers["x-request-id"];
      return typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
    },
  });
  capConnectionsPerAddress(fastify.server, config.limits.maxConnectionsPerAddress);
  registerRequestLog(fastify, logger);
  registerErrorHandlers(fastify, logger);
  if (config.corsOrigins.length > 0) {
    await fastify.register(cors, {
      origin: config.corsOrigins.includes("*") ? true : config.corsOrigins,
      methods: ["GET", "POST", "OPTIONS"],
      allowedHeaders: ["content-type", "authorization", "apollo-require-preflight", "x-apollo-operation-name", "x-request-id", "x-siliconflow-api-key", ...OPENAI_SDK_HEADERS],
      // Retry-After: the REST faces' 429s say when to try again, and the SDKs wait as long.
      exposedHeaders: ["x-request-id", "retry-after"],
      maxAge: 600,
    });
  }

  // Before any route: it documents the routes registered after it.
  await registerOpenApi(fastify, { version: services.version, docs: config.docs ?? !config.production });

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
      callLogPlugin(calls),
      httpSubscriptionPlugin(GRAPHQL_PATH),
      queryLimitsPlugin(schema, {
        maxDepth: config.limits.maxQueryDepth,
        maxComplexity: config.limits.maxQueryComplexity,
        maxGenerations: config.limits.maxGenerationsPerRequest,
      }),
      ...(protectQueries ? [protectQueriesPlugin()] : []),
    ],
  });
  await apollo.start();
  try {
    const contexts = new RequestContexts({ config, provider: services.provider, apiKey: services.apiKey, recorder: calls, now, monotonicMs });
    const logRefusal = contexts.logRefusal.bind(contexts);
    const maxRequestBytes = config.limits.maxRequestBytes ?? config.uploads.maxFiles * config.uploads.maxBytes + 1_000_000;
    contexts.track(fastify);
    // Both REST faces' forms. A text field past 4 bytes a code point of the longest prompt is surely too long.
    const formLimits = { maxFileBytes: config.uploads.maxBytes, maxFiles: config.uploads.maxFiles, maxFieldBytes: 4 * config.limits.maxPromptLength + 4, maxFields: 50 };
    const generateImages = new GenerateImagesRoute({
      generation: services.generation,
      contexts,
      refusals: services.refusals,
      monotonicMs,
      limits: { ...formLimits, maxRequestBytes },
    });
    const openaiRefusals = openAIRefusals(contexts);
    registerBodyTimeouts(fastify, {
      idleMs: config.limits.bodyIdleTimeoutMs,
      totalMs: config.limits.bodyTimeoutMs,
      path: GRAPHQL_PATH,
      onRefused: logRefusal,
      faceOf: (request) => generateImages.cutFace(request) ?? openaiRefusals.cutFace(request),
    });
    registerRefusalGuard(fastify, { path: GRAPHQL_PATH, refusals: services.refusals, clientKeyOf: (request) => contexts.clientKeyOf(request), onRefused: logRefusal });
    registerMultipart(fastify, GRAPHQL_PATH, {
      maxFileBytes: config.uploads.maxBytes,
      maxFiles: config.uploads.maxFiles,
      maxRequestBytes,
      onRefused: logRefusal,
    });
    registerGetMutationRefusal(fastify, GRAPHQL_PATH, { onRefused: logRefusal });
    registerImageRoute(fastify, services.store, logger, { redirect: config.imageUrls.mode === "presigned" });
    registerWebApp(fastify, { root: WEB_DIST_DIR });
    await registerPlayground(fastify, { enabled: config.playground ?? !config.production, graphqlPath: GRAPHQL_PATH });
    registerProbes(fastify, {
      version: services.version,
      startedAt: services.startedAt,
      now,
      lifecycle,
      callLog: services.callLog,
      store: services.store,
      metrics: config.metrics ? services.metrics : undefined,
      models: new HealthModels(services.registry),
      showsModels: protectQueries ? (request) => contexts.callerOf(request).authenticated : undefined,
    });
    await generateImages.register(fastify);
    await registerOpenAIFace(fastify, {
      generation: services.generation,
      registry: services.registry,
      store: services.store,
      contexts,
      refusals: services.refusals,
      refusedCalls: openaiRefusals,
      logger,
      form: formLimits,
      protectModels: protectQueries,
      startedAt: services.startedAt,
      now,
      monotonicMs,
    });
    const context = async (request: FastifyRequest): Promise<GatewayContext> => contexts.contextFor(request);
    // GET /graphql is one route for both: WebSocket upgrades (graphql-ws) and Apollo's GET queries.
    await registerSubscriptions(fastify, {
      path: GRAPHQL_PATH,
      schema,
      jobsFor: (caller) => services.jobFeedFor(caller),
      tokens: config.auth.tokens,
      introspection: config.introspection ?? !config.production,
      limits: { maxDepth: config.limits.maxQueryDepth, maxComplexity: config.limits.maxQueryComplexity, maxGenerations: config.limits.maxGenerationsPerRequest },
      maxSocketsPerClient: config.limits.maxWebSocketsPerClient,
      maxSubscriptionsPerConnection: config.limits.maxSubscriptionsPerConnection,
      // Typed with a string reply, which a route shared with the WebSocket handler cannot declare.
      httpHandler: fastifyApolloHandler(apollo, { context }) as RouteHandlerMethod,
      logger,
    });
    await fastify.register(fastifyApollo(apollo), { path: GRAPHQL_PATH, method: ["POST", "OPTIONS"], context });
  } catch (error) {
    // Started, so stopped: a server that failed to build leaves nothing running.
    await apollo.stop();
    throw error;
  }
  return { fastify, apollo };
}
