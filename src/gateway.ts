import type { Logger } from "pino";
import type { Provider } from "./call-log/call-trace.js";
import type { GatewayConfig } from "./config/config.schema.js";
import { buildHttpServer, type HttpServer } from "./http/server.js";
import { drain } from "./http/shutdown.js";
import { buildServices, type ServiceOptions } from "./services.js";
import type { RunningSimulator } from "./simulator/simulator.js";

export type StartOptions = ServiceOptions & { logger: Logger };

export interface StartedGateway {
  /** Where it listens, e.g. `http://127.0.0.1:4000`. */
  url: string;
  provider: Provider;
  /** The embedded simulator, when no key is set. */
  simulator: RunningSimulator | undefined;
  /** Drains, then stops everything; the call log closes last. Once, however often it is called. */
  close(): Promise<void>;
}

/**
 * The composition root: the services from the configuration, the HTTP server from the services, then
 * listening. main.ts and the integration tests both start the gateway through here.
 */
export async function startGateway(config: GatewayConfig, options: StartOptions): Promise<StartedGateway> {
  const services = await buildServices(config, options);
  let http: HttpServer | undefined;
  let address: string;
  try {
    http = await buildHttpServer(services);
    address = await http.fastify.listen({ host: config.host, port: config.port });
  } catch (error) {
    try {
      await http?.fastify.close();
      await http?.apollo.stop();
    } finally {
      await services.close();
    }
    throw error;
  }
  services.lifecycle.ready();
  const url = new URL(address);
  if (url.hostname === "0.0.0.0" || url.hostname === "[::]") url.hostname = "127.0.0.1";

  const server = http;
  let closing: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    services.stopBackground();
    try {
      await drain({ ...server, recorder: services.recorder, lifecycle: services.lifecycle, timeoutMs: config.shutdownTimeoutMs, logger: services.logger });
    } finally {
      await services.close();
    }
  };
  return {
    url: url.origin,
    provider: services.provider,
    simulator: services.simulator,
    close: () => (closing ??= stop()),
  };
}
