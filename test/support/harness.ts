import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseConfig, readConfigFile } from "../../src/config/load-config.js";
import type { GatewayConfigInput } from "../../src/config/config.schema.js";
import { startGateway, type StartedGateway, type StartOptions } from "../../src/gateway.js";
import { createAppLogger } from "../../src/observability/app-logger.js";
import type { CallLogRecord } from "../../src/call-log/record.js";
import { startSimulator, type RunningSimulator, type SimulatorOptions } from "../../src/simulator/simulator.js";

/** Obviously fake, long enough to be masked as first 4 + last 4. */
export const TEST_API_KEY = "sk-test-FAKE-key-for-the-simulator-0123";

export interface Harness {
  gateway: StartedGateway;
  simulator: RunningSimulator;
  url: string;
  graphqlUrl: string;
  logDir: string;
  dataDir: string;
  configFile: string | undefined;
  logLines(): Promise<CallLogRecord[]>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  config?: Record<string, unknown>;
  env?: Record<string, string>;
  simulator?: SimulatorOptions;
  /** Start without a key: the gateway runs its own simulator. */
  noKey?: boolean;
  /** YAML written to a configuration file the gateway reads and watches. */
  configYaml?: string;
  /** An existing configuration file the gateway reads and watches, instead of `configYaml`. */
  configPath?: string;
  /** Where the application log goes (debug level); silent when absent. */
  appLog?: { write(line: string): void };
  /** Where the gateway may fetch outputs from, instead of what the simulator's loopback address implies. */
  outputAddresses?: StartOptions["outputAddresses"];
  /** The gateway's clock for timestamps (and its start), instead of Date.now. */
  now?: () => number;
  /** Where job states come from, instead of the job engine. */
  jobFeed?: StartOptions["jobFeed"];
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const root = await mkdtemp(path.join(tmpdir(), "gateway-test-"));
  const logDir = path.join(root, "logs");
  const dataDir = path.join(root, "data");
  const simulator = await startSimulator({ apiKey: TEST_API_KEY, ...options.simulator });
  const configFile = options.configPath ?? (options.configYaml === undefined ? undefined : path.join(root, "gateway.config.yaml"));
  if (configFile && options.configYaml !== undefined) await writeFile(configFile, options.configYaml);
  const settings: GatewayConfigInput & Record<string, unknown> = {
    ...(configFile ? readConfigFile(configFile) : {}),
    host: "127.0.0.1",
    port: 0,
    logDir,
    dataDir,
    ...options.config,
    siliconflow: {
      ...(options.noKey ? {} : { apiKey: TEST_API_KEY, baseUrl: simulator.url }),
      ...((options.config?.siliconflow as object | undefined) ?? {}),
    },
  };
  const config = parseConfig(settings, options.env ?? {});
  const logger = options.appLog
    ? createAppLogger({ level: "debug", destination: options.appLog, secrets: [TEST_API_KEY] })
    : createAppLogger({ level: "silent" });
  const gateway = await startGateway(config, { logger, configFile, env: options.env ?? {}, outputAddresses: options.outputAddresses, now: options.now, jobFeed: options.jobFeed });
  // The configuration may have put the folders elsewhere (a test's own small disk).
  const logFile = path.join(config.logDir, "image_generation.log");
  return {
    gateway,
    simulator: gateway.simulator ?? simulator,
    url: gateway.url,
    graphqlUrl: `${gateway.url}/graphql`,
    logDir: config.logDir,
    dataDir: config.dataDir,
    configFile,
    async logLines() {
      const text = await readFile(logFile, "utf8").catch(() => "");
      return text
        .split("\n")
        .filter((line) => line.length > 0)
        .map((line) => JSON.parse(line) as CallLogRecord);
    },
    async close() {
      await gateway.close();
      await simulator.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

export interface GraphQLResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: { data?: T | null; errors?: Array<{ message: string; path?: string[]; extensions?: Record<string, unknown> }> };
}

export async function postJson<T = Record<string, unknown>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<GraphQLResponse<T>> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as GraphQLResponse<T>["body"] };
}

export interface UploadFile {
  /** Where the file goes in the variables, e.g. `variables.input.images.0`. */
  path: string;
  data: Uint8Array;
  name?: string;
  type?: string;
}

/** A GraphQL multipart request (the spec's operations, map and file parts), as browsers send it. */
export function multipartBody(query: string, variables: Record<string, unknown>, files: readonly UploadFile[], operationName?: string): FormData {
  const form = new FormData();
  form.append("operations", JSON.stringify({ query, variables, ...(operationName ? { operationName } : {}) }));
  form.append("map", JSON.stringify(Object.fromEntries(files.map((file, i) => [String(i), [file.path]]))));
  files.forEach((file, i) => {
    form.append(String(i), new Blob([new Uint8Array(file.data)], { type: file.type ?? "application/octet-stream" }), file.name ?? `file${i}`);
  });
  return form;
}

export async function postMultipart<T = Record<string, unknown>>(
  url: string,
  query: string,
  variables: Record<string, unknown>,
  files: readonly UploadFile[],
  headers: Record<string, string> = { "apollo-require-preflight": "true" },
): Promise<GraphQLResponse<T>> {
  const response = await fetch(url, { method: "POST", headers, body: multipartBody(query, variables, files) });
  const text = await response.text();
  let body: GraphQLResponse<T>["body"];
  try {
    body = JSON.parse(text) as GraphQLResponse<T>["body"];
  } catch {
    throw new Error(`not JSON (HTTP ${response.status}): ${text.slice(0, 200)}`);
  }
  return { status: response.status, headers: response.headers, body };
}

/** `images: [null, null]` in the variables, for the map to fill. */
export function imageSlots(count: number): null[] {
  return Array.from({ length: count }, () => null);
}

export const GENERATE = /* GraphQL */ `
  mutation Generate($input: GenerateImagesInput!) {
    generateImages(input: $input) {
      callId
      provider
      model
      seed
      images { index url width height mimeType bytes }
      timings { inferenceSeconds totalMs }
    }
  }
`;
