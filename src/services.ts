import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Logger } from "pino";
import { CallRecorder } from "./call-log/recorder.js";
import type { Provider } from "./call-log/call-trace.js";
import { secureLogDir } from "./call-log/log-dir.js";
import { openCallLog, type CallLogWriter } from "./call-log/writer.js";
import type { GatewayConfig } from "./config/config.schema.js";
import { watchConfigFile } from "./config/config-watcher.js";
import { ConfigError, parseConfig, readConfigFile } from "./config/load-config.js";
import { ErrorCode, GatewayError } from "./errors.js";
import type { JobNotifier } from "./jobs/job-notifier.js";
import { buildWebhooks } from "./jobs/webhooks.js";
import { GenerationService, type Caller } from "./generation/generation.service.js";
import type { JobFeed } from "./jobs/job.js";
import { Lifecycle } from "./lifecycle.js";
import { ConcurrencyGate } from "./limits/concurrency-gate.js";
import { connectSharedRedis, describeRedisFailure, type SharedRedis, type SharedStateHealth } from "./limits/shared-redis.js";
import { RateLimits } from "./limits/rate-limits.js";
import { RefusalLimits } from "./limits/refusal-limits.js";
import { ModelRegistry, type ImageModelInfo } from "./models/model-registry.js";
import { GatewayMetrics } from "./observability/metrics.js";
import { startSimulator, type RunningSimulator, type SimulatedModel } from "./simulator/simulator.js";
import { DiskImageStore } from "./storage/disk-image-store.js";
import type { ImageStore } from "./storage/image-store.js";
import { S3ImageStore } from "./storage/s3-image-store.js";
import { RedisResultCache } from "./storage/redis-result-cache.js";
import { MemoryResultCache, type ResultCache } from "./storage/result-cache.js";
import { HealthService } from "./upstream/health.service.js";
import type { OutputAddressPolicy } from "./upstream/output-address.js";
import { SiliconFlowClient } from "./upstream/siliconflow-client.js";
import { GATEWAY_VERSION } from "./version.js";
import { JobService } from "./jobs/job.service.js";
import { jobEngineFor } from "./jobs/job-engine.js";

export interface ServiceOptions {
  logger: Logger;
  /** The configuration file, watched so a changed model list applies without a restart. */
  configFile?: string;
  /** The environment the configuration was read with (re-applied on top of a changed file). */
  env?: NodeJS.ProcessEnv;
  /** Where output URLs may point, instead of what the upstream's address implies (tests: a "public" upstream, names resolved without DNS). */
  outputAddresses?: OutputAddressPolicy;
  /** Where webhooks may go, instead of what WEBHOOK_ALLOW_PRIVATE gives (tests: names resolved without DNS). */
  webhookAddresses?: OutputAddressPolicy;
  /** The clocks: epoch ms for timestamps, monotonic ms for durations. */
  now?: () => number;
  monotonicMs?: () => number;
  /** Who is told of finished jobs that named a `webhookUrl`, instead of the webhooks the configuration gives. */
  jobNotifier?: JobNotifier;
  /** Where subscriptions get job states, instead of the job service (tests: states published by hand). */
  jobFeed?: JobFeed;
}

/** What the HTTP server is built from: everything below it, built from the configuration. */
export interface GatewayServices {
  config: GatewayConfig;
  logger: Logger;
  version: string;
  provider: Provider;
  /** The key calls are made with, for masking in the log; undefined with the simulator's throwaway key. */
  apiKey: string | undefined;
  simulator: RunningSimulator | undefined;
  registry: ModelRegistry;
  health: HealthService;
  /** Whether the shared state (Redis) can be reached; undefined when none is configured. */
  sharedState: (() => SharedStateHealth) | undefined;
  callLog: CallLogWriter;
  recorder: CallRecorder;
  store: ImageStore;
  metrics: GatewayMetrics;
  refusals: RefusalLimits;
  generation: GenerationService;
  jobs: JobService;
  /** Told of every finished job that asked for a webhook. */
  jobNotifier: JobNotifier;
  /** Every state of a job, wherever it runs, as the caller may see it: what subscriptions stream. */
  jobFeedFor(caller: Caller): JobFeed;
  lifecycle: Lifecycle;
  startedAt: number;
  now: () => number;
  monotonicMs: () => number;
  /** Stops the work that runs by itself (the model-list refresh, the file watcher), first thing at shutdown. */
  stopBackground(): void;
  /** Stops what was started, in the reverse order: the call log, opened first, closes last. */
  close(): Promise<void>;
}

/** The embedded simulator serves every model the gateway knows, configured ones included. */
function simulatedModel(model: ImageModelInfo): SimulatedModel {
  return {
    id: model.id,
    sizes: [...model.imageSizes],
    maxBatch: model.maxBatchSize,
    maxImages: model.maxInputImages,
    minImages: model.minInputImages,
    guidance: model.guidance === "GUIDANCE_SCALE" ? "guidance_scale" : model.guidance === "CFG" ? "cfg" : "none",
    defaultSize: model.defaultImageSize ?? model.imageSizes[0] ?? "1024x1024",
  };
}

/**
 * Builds every service from the configuration, top to bottom; with no API key the simulator starts on
 * loopback and the log says so. Whatever is started is stopped by `close`, or at once if a later step fails.
 */
export async function buildServices(config: GatewayConfig, options: ServiceOptions): Promise<GatewayServices> {
  const { logger, configFile, env = {}, outputAddresses, webhookAddresses, now = Date.now, monotonicMs = () => performance.now() } = options;
  const stops: Array<() => unknown> = [];
  const background: Array<() => void> = [];
  const stopBackground = (): void => {
    for (const stop of background.splice(0)) stop();
  };
  const close = async (): Promise<void> => {
    stopBackground();
    for (const stop of stops.splice(0).reverse()) await stop();
  };
  try {
    const lifecycle = new Lifecycle();

    const warning = secureLogDir(config.logDir);
    if (warning) logger.warn(warning);
    const callLog = openGatewayCallLog(config, logger);
    stops.push(() => callLog.close());

    const registry = new ModelRegistry({ configured: config.models });
    const { provider, apiKey, simulator, upstream } = await connectUpstream(config, registry, logger, outputAddresses);
    if (simulator) stops.push(() => simulator.close());
    const health = new HealthService({
      cacheMs: config.health.probeCacheMs,
      // One free request serves both: is SiliconFlow there, and which models may this key call.
      probe: async () => registry.applyUpstreamList(await upstream.listModelIds(5_000)),
    });
    void health.check();
    if (config.siliconflow.modelsRefreshMs > 0) {
      const refresh = setInterval(() => void health.check(), config.siliconflow.modelsRefreshMs).unref();
      background.push(() => clearInterval(refresh));
    }
    if (configFile) {
      background.push(
        watchConfigFile(configFile, () => {
          try {
            const next = parseConfig(readConfigFile(configFile), env);
            registry.setConfigured(next.models);
            logger.info({ models: next.models.length }, "configuration file changed: model list reloaded");
          } catch (error) {
            const message = error instanceof ConfigError || error instanceof Error ? error.message : String(error);
            logger.error(`configuration file changed but was not applied: ${message}`);
          }
        }),
      );
    }

    // Shared counters and result cache; without Redis each gateway counts and caches alone.
    const redisUrl = config.redisUrl ?? config.rateLimit.redisUrl;
    const shared = redisUrl ? await connectSharedRedis(redisUrl, logger) : undefined;
    if (shared) stops.push(() => shared.disconnect());

    // The gateway's start, for its uptime and for which temporary files are an earlier run's.
    const startedAt = now();
    const store = imageStoreFor(config);
    stops.push(() => store.close());
    const removed = await store.init(startedAt);
    if (removed > 0) logger.warn({ store: store.location, removed }, `removed ${removed} temporary files left in ${store.location} by an earlier run that stopped mid-write`);
    if (store.unavailableReason) {
      logger.error({ store: store.location }, `the image store cannot be used: ${store.unavailableReason}; /ready stays 503 and generations are refused (STORAGE_UNAVAILABLE) until the gateway restarts with it fixed`);
    }

    const metrics = new GatewayMetrics();
    // Closed after the jobs that report to it, so no finished job finds it gone.
    const webhooks = buildWebhooks(config.webhooks, { logger, metrics, redisUrl, addresses: webhookAddresses, now, monotonicMs });
    stops.push(() => webhooks.close());
    const jobNotifier = options.jobNotifier ?? webhooks.notifier;
    const recorder = recorderFor(config, callLog, logger, metrics, monotonicMs, apiKey);
    const generation = generationServiceFor(config, { lifecycle, callLog, registry, upstream, store, metrics, monotonicMs, shared });

    // Jobs: durable on Redis (BullMQ) when there is one, else in this process; stopped before the call log and Redis close.
    const engine = await jobEngineFor(config, redisUrl, logger, now);
    const jobs = new JobService({
      queue: engine.queue,
      events: engine.events,
      generation,
      store,
      recorder,
      provider,
      apiKey,
      notifier: jobNotifier,
      metrics,
      recordTtlMs: config.jobs.recordTtlMs,
      caps: { perClient: config.jobs.maxQueuedPerClient, total: config.jobs.maxQueued },
      ownedByToken: config.auth.tokens.length > 0,
      // A worker about to send a job asks the same as a new generateImages, draining apart (it hands the job back).
      spendingRefusal: () => spendingRefusal(callLog, store),
      now,
      monotonicMs,
      onError: (error, message) => logger.error({ err: error }, message),
    });
    stops.push(() => jobs.close());
    // Inputs older than a job's record lasts belong to no job that can still run (a killed in-process queue's,
    // a job that outlived its record). Not younger ones: another replica sharing the store may be running them.
    // Not awaited: a start does not wait on a listing of the store.
    void store.removeJobInputsBefore(startedAt - config.jobs.recordTtlMs).then((removed) => {
      if (removed > 0) logger.warn({ store: store.location, removed }, `removed ${removed} inputs of generation jobs that can no longer run`);
    });
    if (!config.jobs.workers && jobs.engine === "memory") {
      logger.warn("GATEWAY_WORKERS is off without REDIS_URL: jobs submitted to this replica are kept in its own queue, which no worker runs");
    }
    if (config.jobs.workers) {
      jobs.startWorkers(config.jobs.workerConcurrency);
      // At SIGTERM: no new job is taken; one not sent yet goes back to the queue at once.
      background.push(() => void jobs.shutdown(config.shutdownTimeoutMs));
    }

    return {
      config,
      logger,
      version: GATEWAY_VERSION,
      provider,
      apiKey,
      simulator,
      registry,
      health,
      sharedState: shared ? () => shared.health() : undefined,
      callLog,
      recorder,
      store,
      metrics,
      refusals: new RefusalLimits({ perMinute: config.rateLimit.refusalsPerMinute, redis: shared?.client }),
      generation,
      jobs,
      jobNotifier,
      jobFeedFor: (caller) => options.jobFeed ?? { watch: (id, signal) => jobs.watch(id, caller, signal) },
      lifecycle,
      startedAt,
      now,
      monotonicMs,
      stopBackground,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The disk store by default; an S3-compatible bucket when configured (the schema has checked its settings). */
function imageStoreFor(config: GatewayConfig): ImageStore {
  if (config.imageStore === "disk") return new DiskImageStore(config.dataDir);
  const { bucket, endpoint, region, prefix, forcePathStyle, accessKeyId, secretAccessKey } = config.s3;
  return new S3ImageStore({
    bucket: bucket!,
    endpoint,
    region,
    prefix,
    forcePathStyle,
    credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined,
    urlExpirySeconds: config.imageUrls.expirySeconds,
  });
}

function openGatewayCallLog(config: GatewayConfig, logger: Logger): CallLogWriter {
  return openCallLog({
    dir: config.logDir,
    level: config.logLevel,
    rotation: config.callLog.rotation,
    fsync: config.callLog.fsync,
    onError: (error) => logger.error({ err: error }, "call log maintenance failed"),
    // Once per outage, not per call: the disk stays full for a while.
    onUnavailable: (error) =>
      logger.error(
        { err: error },
        `call log cannot be written: ${error.message}; new generations are refused (CALL_LOG_UNAVAILABLE) and the lines of calls already made are kept in memory until it can`,
      ),
    onAvailable: (written) => logger.info({ written }, `call log can be written again; ${written} kept lines were written`),
    // The record of a paid call must survive somewhere: the application log is the last place left.
    onUnwritten: (line) => logger.error({ callLogLine: line.trimEnd() }, "call log line could not be written to the call log; it is here instead"),
  });
}

/** SiliconFlow, or with no key the embedded simulator on loopback, which the log says. */
async function connectUpstream(
  config: GatewayConfig,
  registry: ModelRegistry,
  logger: Logger,
  outputAddresses: OutputAddressPolicy | undefined,
): Promise<{ provider: Provider; apiKey: string | undefined; simulator: RunningSimulator | undefined; upstream: SiliconFlowClient }> {
  const client = (baseUrl: string, apiKey: string) =>
    new SiliconFlowClient({
      baseUrl,
      apiKey,
      timeoutMs: config.siliconflow.timeoutMs,
      maxRetries: config.siliconflow.maxRetries,
      downloadTimeoutMs: config.siliconflow.downloadTimeoutMs,
      outputAddresses,
    });
  const apiKey = config.siliconflow.apiKey;
  if (apiKey) return { provider: "SILICONFLOW", apiKey, simulator: undefined, upstream: client(config.siliconflow.baseUrl, apiKey) };
  // A throwaway key, so the simulator's bearer check runs as SiliconFlow's would; it is nobody's secret.
  const throwaway = `sim-${randomBytes(16).toString("hex")}`;
  const simulator = await startSimulator({
    host: "127.0.0.1",
    port: config.simulator.port,
    apiKey: throwaway,
    latencyMs: config.simulator.latencyMs,
    models: registry.list().map(simulatedModel),
    // Request bodies hold base64 images: a long-running embedded simulator keeps none of them.
    maxReceived: 0,
  });
  logger.warn({ simulator: simulator.url }, "SILICONFLOW_API_KEY is not set: generating with the built-in simulator, not SiliconFlow");
  return { provider: "SIMULATOR", apiKey: undefined, simulator, upstream: client(simulator.url, throwaway) };
}

function recorderFor(
  config: GatewayConfig,
  callLog: CallLogWriter,
  logger: Logger,
  metrics: GatewayMetrics,
  monotonicMs: () => number,
  apiKey: string | undefined,
): CallRecorder {
  return new CallRecorder(
    callLog,
    // Named here, not in the formatter: a test or a deployment decides which replica this is.
    { gatewayVersion: GATEWAY_VERSION, replica: config.replica ?? hostname() },
    monotonicMs,
    {
      onWriteError: (error) => logger.error({ err: error }, "call log write failed"),
      onFault: (trace, meta) =>
        logger.error(
          { callId: trace.callId, reqId: meta.requestId, code: trace.error?.code, err: trace.error?.cause },
          `call ${trace.callId} failed: ${trace.error?.message ?? "unknown error"}`,
        ),
      onLate: (trace) =>
        logger.warn(
          { callId: trace.callId, status: trace.status },
          `call ${trace.callId} finished after its line was written (cut at shutdown, logged as SHUTDOWN_INTERRUPTED); it ended ${trace.status}, the line stays as written`,
        ),
    },
    { maxPromptChars: config.limits.maxPromptLength, secrets: [...(apiKey ? [apiKey] : []), ...config.auth.tokens, ...(config.s3.secretAccessKey ? [config.s3.secretAccessKey] : []), ...(config.webhooks.secret ? [config.webhooks.secret] : [])] },
    metrics,
  );
}

interface GenerationParts {
  lifecycle: Lifecycle;
  callLog: CallLogWriter;
  registry: ModelRegistry;
  upstream: SiliconFlowClient;
  store: ImageStore;
  metrics: GatewayMetrics;
  monotonicMs: () => number;
  /** The shared Redis, when there is one. */
  shared: SharedRedis | undefined;
}

/** Shared through Redis when there is one, else this process's own. */
function resultCacheFor(config: GatewayConfig, shared: SharedRedis | undefined): ResultCache | undefined {
  if (!config.cache.enabled) return undefined;
  if (!shared) return new MemoryResultCache({ maxEntries: config.cache.maxEntries, ttlMs: config.cache.ttlMs });
  return new RedisResultCache({
    client: shared.client,
    ttlMs: config.cache.ttlMs,
    // As long as a call may take upstream; a claim whose replica died goes sooner (it is renewed while it runs).
    maxWaitMs: config.siliconflow.timeoutMs + config.siliconflow.downloadTimeoutMs,
    onError: (error) => shared.failed(describeRedisFailure(error)),
    onSuccess: () => shared.succeeded(),
  });
}

/** Why no paid call may start now: the call log or the image store cannot be written. */
function spendingRefusal(callLog: CallLogWriter, store: ImageStore): GatewayError | undefined {
  if (!callLog.available) {
    return new GatewayError(
      ErrorCode.CALL_LOG_UNAVAILABLE,
      `the gateway cannot write its call log (${callLog.unavailableReason ?? "unknown reason"}), the record of every paid call, so it starts no new generation until it can; retry later`,
    );
  }
  if (store.unavailableReason) {
    return new GatewayError(ErrorCode.STORAGE_UNAVAILABLE, `the gateway cannot keep generated images (${store.unavailableReason}), so it starts no new generation; retry later`);
  }
  return undefined;
}

function generationServiceFor(config: GatewayConfig, { lifecycle, callLog, shared, ...parts }: GenerationParts): GenerationService {
  const redis = shared?.client;
  const { store } = parts;
  return new GenerationService({
    ...parts,
    presignedUrl: config.imageUrls.mode === "presigned" ? (fileName) => store.presignedUrl!(fileName) : undefined,
    // Checked before anything is spent: a draining gateway, or one that could not record the call, starts none.
    refusal: () => {
      if (lifecycle.draining) {
        return new GatewayError(ErrorCode.SHUTTING_DOWN, "the gateway is shutting down and starts no new generation; retry and another instance will take it");
      }
      return spendingRefusal(callLog, store);
    },
    cache: resultCacheFor(config, shared),
    gate: new ConcurrencyGate({ max: config.siliconflow.maxConcurrency, maxQueue: config.siliconflow.maxQueue, queueTimeoutMs: config.siliconflow.queueTimeoutMs }),
    rateLimits: new RateLimits({
      callsPerWindow: config.rateLimit.callsPerWindow,
      windowSeconds: config.rateLimit.windowSeconds,
      imagesPerMinute: config.limits.imagesPerMinute,
      redis,
    }),
    limits: {
      maxUploadBytes: config.uploads.maxBytes,
      maxFiles: config.uploads.maxFiles,
      maxPromptLength: config.limits.maxPromptLength,
      images: { maxLongSide: config.uploads.maxLongSide, maxInputPixels: config.uploads.maxInputPixels },
    },
  });
}
