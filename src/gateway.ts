import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import { createApp, type GatewayApp } from "./app.js";
import type { GatewayConfig } from "./config/config.schema.js";
import { openCallLog, type CallLogWriter } from "./logging/call-log-writer.js";
import type { Provider } from "./services/call-trace.js";
import { ModelRegistry } from "./services/model-registry.js";
import { SiliconFlowClient } from "./services/siliconflow/client.js";
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
}

/**
 * Everything a running gateway needs, from configuration: with no API key it starts the simulator on
 * loopback and says so. main.ts and the integration tests both start the gateway through here.
 */
export async function startGateway(config: GatewayConfig, { logger }: StartOptions): Promise<StartedGateway> {
  const callLog = openCallLog({
    dir: config.logDir,
    level: config.logLevel,
    rotation: config.callLog.rotation,
    fsync: config.callLog.fsync,
    onError: (error) => logger.error({ err: error }, "call log maintenance failed"),
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
      // Request bodies hold base64 images: a long-running embedded simulator keeps none of them.
      maxReceived: 0,
    });
    baseUrl = simulator.url;
    logger.warn({ simulator: simulator.url }, "SILICONFLOW_API_KEY is not set: generating with the built-in simulator, not SiliconFlow");
  }

  const registry = new ModelRegistry({ configured: config.models });
  const upstream = new SiliconFlowClient({
    baseUrl,
    apiKey,
    timeoutMs: config.siliconflow.timeoutMs,
    maxRetries: config.siliconflow.maxRetries,
    downloadTimeoutMs: config.siliconflow.downloadTimeoutMs,
  });

  let app: GatewayApp;
  try {
    app = await createApp(config, {
      provider,
      apiKey: provider === "SIMULATOR" ? undefined : apiKey,
      upstream,
      registry,
      callLog,
      logger,
      version: GATEWAY_VERSION,
    });
  } catch (error) {
    await simulator?.close();
    await callLog.close();
    throw error;
  }

  return {
    app,
    url: app.url,
    provider,
    simulator,
    registry,
    callLog,
    close: async () => {
      await app.close();
      await simulator?.close();
      await callLog.close();
    },
  };
}
