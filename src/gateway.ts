import { randomBytes } from "node:crypto";
import type { EventEmitter } from "node:events";
import type { Logger } from "pino";
import { createApp, type GatewayApp } from "./app.js";
import type { GatewayConfig } from "./config/config.schema.js";
import { watchConfigFile } from "./config/config-watcher.js";
import { ConfigError, parseConfig, readConfigFile } from "./config/load-config.js";
import { HealthService } from "./upstream/health.service.js";
import type { ImageModelInfo } from "./models/model-registry.js";
import type { SimulatedModel } from "./simulator/simulator.js";
import { openCallLog, type CallLogWriter } from "./call-log/writer.js";
import { secureLogDir } from "./call-log/log-dir.js";
import type { Provider } from "./call-log/call-trace.js";
import { ModelRegistry } from "./models/model-registry.js";
import { SiliconFlowClient } from "./upstream/siliconflow-client.js";
import type { OutputAddressPolicy } from "./upstream/output-address.js";
import { startSimulator, type RunningSimulator } from "./simulator/simulator.js";
import { GATEWAY_VERSION } from "./version.js";

export interface StartedGateway {
  app: GatewayApp;
  url: string;
  provider: Provider;
  simulator: RunningSimulator | undefined;
  registry: ModelRegistry;
  callLog: CallLogWriter;
  close(): Promise<void>;
}

export interface StartOptions {
  logger: Logger;
  /** The configuration file, watched so a changed model list applies without a restart. */
  configFile?: string;
  /** The environment the configuration was read with (re-applied on top of a changed file). */
  env?: NodeJS.ProcessEnv;
  /** Where output URLs may point, instead of what the upstream's address implies (tests: a "public" upstream, names resolved without DNS). */
  outputAddresses?: OutputAddressPolicy;
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
 * Everything a running gateway needs, from configuration: with no API key it starts the simulator on
 * loopback and says so. main.ts and the integration tests both start the gateway through here.
 */
export async function startGateway(config: GatewayConfig, { logger, configFile, env = {}, outputAddresses }: StartOptions): Promise<StartedGateway> {
  const warning = secureLogDir(config.logDir);
  if (warning) logger.warn(warning);
  const registry = new ModelRegistry({ configured: config.models });
  const callLog = openCallLog({
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

  let simulator: RunningSimulator | undefined;
  let baseUrl = config.siliconflow.baseUrl;
  let apiKey = config.siliconflow.apiKey;
  const provider: Provider = apiKey ? "SILICONFLOW" : "SIMULATOR";
  if (!apiKey) {
    // A throwaway key, so the simulator's bearer check runs as SiliconFlow's would.
    apiKey = `sim-${randomBytes(16).toString("hex")}`;
    simulator = await startSimulator({
      host: "127.0.0.1",
      port: config.simulator.port,
      apiKey,
      latencyMs: config.simulator.latencyMs,
      models: registry.list().map(simulatedModel),
      // Request bodies hold base64 images: a long-running embedded simulator keeps none of them.
      maxReceived: 0,
    });
    baseUrl = simulator.url;
    logger.warn({ simulator: simulator.url }, "SILICONFLOW_API_KEY is not set: generating with the built-in simulator, not SiliconFlow");
  }

  const upstream = new SiliconFlowClient({
    baseUrl,
    apiKey,
    timeoutMs: config.siliconflow.timeoutMs,
    maxRetries: config.siliconflow.maxRetries,
    downloadTimeoutMs: config.siliconflow.downloadTimeoutMs,
    outputAddresses,
  });

  const health = new HealthService({
    cacheMs: config.health.probeCacheMs,
    // One free request serves both: is SiliconFlow there, and which models may this key call.
    probe: async () => registry.applyUpstreamList(await upstream.listModelIds(5_000)),
  });
  void health.check();
  const refresh =
    config.siliconflow.modelsRefreshMs > 0 ? setInterval(() => void health.check(), config.siliconflow.modelsRefreshMs).unref() : undefined;

  const stopWatching = configFile
    ? watchConfigFile(configFile, () => {
        try {
          const next = parseConfig(readConfigFile(configFile), env);
          registry.setConfigured(next.models);
          logger.info({ models: next.models.length }, "configuration file changed: model list reloaded");
        } catch (error) {
          const message = error instanceof ConfigError || error instanceof Error ? error.message : String(error);
          logger.error(`configuration file changed but was not applied: ${message}`);
        }
      })
    : undefined;

  // Shared rate-limit counters; without Redis each gateway counts alone.
  // Loaded only when configured: ioredis costs about 8 MB of memory in every gateway otherwise.
  const redis = config.rateLimit.redisUrl
    ? new (await import("ioredis")).Redis(config.rateLimit.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false })
    : undefined;
  redis?.on("error", (error: Error) => logger.warn(`rate-limit store: ${error.message}`));
  // Calls counted before the first connection fall back to this process's own counters, so a gateway that
  // takes traffic at once would give each replica a fresh budget: wait for Redis, briefly.
  if (redis && !(await readyWithin(redis, REDIS_CONNECT_GRACE_MS))) {
    logger.warn(`rate-limit store not ready after ${REDIS_CONNECT_GRACE_MS} ms: counting in this process until it is`);
  }

  let app: GatewayApp;
  try {
    app = await createApp(config, {
      provider,
      apiKey: provider === "SIMULATOR" ? undefined : apiKey,
      upstream,
      registry,
      health,
      callLog,
      rateLimitStore: redis,
      logger,
      version: GATEWAY_VERSION,
    });
  } catch (error) {
    clearInterval(refresh);
    stopWatching?.();
    redis?.disconnect();
    await simulator?.close();
    await callLog.close();
    throw error;
  }

  let closing: Promise<void> | undefined;
  return {
    app,
    url: app.url,
    provider,
    simulator,
    registry,
    callLog,
    close: () =>
      (closing ??= (async () => {
        clearInterval(refresh);
        stopWatching?.();
        await app.close();
        redis?.disconnect();
        await simulator?.close();
        // Last: every line, cut calls' included, is written (or handed to the application log) by now.
        await callLog.close();
      })()),
  };
}

const REDIS_CONNECT_GRACE_MS = 3_000;

function readyWithin(client: EventEmitter & { status: string }, ms: number): Promise<boolean> {
  if (client.status === "ready") return Promise.resolve(true);
  return new Promise((resolve) => {
    const finish = (ready: boolean) => {
      clearTimeout(timer);
      client.off("ready", onReady);
      resolve(ready);
    };
    const onReady = () => finish(true);
    const timer = setTimeout(() => finish(false), ms);
    client.once("ready", onReady);
  });
}
