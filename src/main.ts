import "reflect-metadata";
import { ConfigError, loadConfig } from "./config/load-config.js";
import { startGateway } from "./gateway.js";
import { createAppLogger } from "./observability/app-logger.js";

async function main(): Promise<void> {
  let loaded;
  try {
    loaded = loadConfig({ argv: process.argv.slice(2), env: process.env });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`gateway: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const { config, file } = loaded;
  const logger = createAppLogger({
    level: config.logLevel,
    pretty: !config.production && process.stdout.isTTY === true,
    // The client tokens, the S3 secret and the webhook secret are secrets too: a request URL logged at debug may carry a token.
    secrets: [
      ...(config.siliconflow.apiKey ? [config.siliconflow.apiKey] : []),
      ...config.auth.tokens,
      ...(config.s3.secretAccessKey ? [config.s3.secretAccessKey] : []),
      ...(config.webhooks.secret ? [config.webhooks.secret] : []),
    ],
  });

  let gateway;
  try {
    gateway = await startGateway(config, { logger, configFile: file, env: process.env });
  } catch (error) {
    logger.fatal({ err: error }, `gateway could not start: ${(error as Error).message}`);
    process.exit(1);
  }
  logger.info({ url: gateway.url, provider: gateway.provider }, `gateway listening on ${gateway.url}/graphql`);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "stopping");
    // A backstop, should anything still wait past the deadline (a disk that never answers): the
    // process must end so that it can be restarted.
    setTimeout(() => {
      logger.error(`stopping took longer than SHUTDOWN_TIMEOUT_MS (${config.shutdownTimeoutMs} ms) plus 5 s; exiting anyway`);
      process.exit(1);
    }, config.shutdownTimeoutMs + 5_000).unref();
    gateway.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, "error while stopping");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

void main();
