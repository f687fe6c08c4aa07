import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import { configSchema, environmentKeys, type GatewayConfig } from "./config.schema.js";

/** A configuration problem: start-up stops with this message, which names the key and the fault. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

export interface LoadedConfig {
  config: GatewayConfig;
  /** The file the settings came from, if any (watched for model changes). */
  file: string | undefined;
}

export interface ConfigSources {
  argv?: readonly string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export function resolveConfigFile({ argv = [], env = {}, cwd = process.cwd() }: ConfigSources): string | undefined {
  const flagIndex = argv.findIndex((a) => a === "--config" || a.startsWith("--config="));
  let file: string | undefined;
  if (flagIndex >= 0) {
    const arg = argv[flagIndex];
    file = arg!.includes("=") ? arg!.slice(arg!.indexOf("=") + 1) : argv[flagIndex + 1];
    if (!file) throw new ConfigError("--config needs a file path");
  } else if (env.GATEWAY_CONFIG) {
    file = env.GATEWAY_CONFIG;
  } else {
    const fallback = path.resolve(cwd, "gateway.config.yaml");
    return existsSync(fallback) ? fallback : undefined;
  }
  const resolved = path.resolve(cwd, file);
  if (!existsSync(resolved)) throw new ConfigError(`configuration file ${file} does not exist`);
  return resolved;
}

export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new ConfigError(`cannot read configuration file ${file}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = file.endsWith(".json") ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ConfigError(`configuration file ${file} is not valid ${file.endsWith(".json") ? "JSON" : "YAML"}: ${(error as Error).message}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new ConfigError(`configuration file ${file} must hold a mapping of settings`);
  }
  return parsed as Record<string, unknown>;
}

function setPath(target: Record<string, unknown>, keys: readonly string[], value: string): void {
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== "object" || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = value;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const dotted = issue.path.map(String).join(".");
  const envName = environmentKeys.find(([, keys]) => keys.join(".") === dotted)?.[0];
  const where = envName ? `${dotted} (${envName})` : dotted || "(root)";
  // zod's messages name the rule, never the value, so a mistyped key is not echoed.
  return `${where}: ${issue.message}`;
}

/** File first, then environment on top; any fault names its key. */
export function parseConfig(fileSettings: Record<string, unknown>, env: NodeJS.ProcessEnv): GatewayConfig {
  const merged = structuredClone(fileSettings);
  for (const [name, keys] of environmentKeys) {
    const value = env[name];
    if (value !== undefined) setPath(merged, keys, value);
  }
  if (env.NODE_ENV === "production" && env.GATEWAY_PRODUCTION === undefined && merged.production === undefined) {
    merged.production = true;
  }
  const result = configSchema.safeParse(merged);
  if (!result.success) {
    const lines = result.error.issues.map(describeIssue);
    throw new ConfigError(`invalid configuration: ${lines.join("; ")}`);
  }
  return result.data;
}

export function loadConfig(sources: ConfigSources = {}): LoadedConfig {
  const env = sources.env ?? process.env;
  const file = resolveConfigFile({ ...sources, env });
  const settings = file ? readConfigFile(file) : {};
  return { config: parseConfig(settings, env), file };
}
