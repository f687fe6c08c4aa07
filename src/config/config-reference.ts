import { z } from "zod";
import { configSchema, environmentKeys } from "./config.schema.js";

/** The part of JSON Schema that zod emits for the configuration and that the reference reads. */
interface JsonSchema {
  type?: string;
  anyOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema | boolean;
  items?: JsonSchema;
}

const FLAG_WORDS = ["0", "1", "true", "false", "yes", "no"];

function typeOf(schema: JsonSchema): string {
  if (schema.anyOf) {
    // A flag is a boolean or one of the words the environment spells it with.
    if (schema.anyOf.some((s) => s.type === "boolean") && schema.anyOf.some((s) => s.enum?.every((w) => FLAG_WORDS.includes(String(w))))) {
      return schema.anyOf.length === 2 ? "boolean" : [...new Set(schema.anyOf.map(typeOf))].join(" or ");
    }
    return [...new Set(schema.anyOf.filter((s) => s.const !== "").map(typeOf))].join(" or ");
  }
  if (schema.enum) return schema.enum.map((value) => `\`${String(value)}\``).join(", ");
  if (schema.format === "uri") return "URL";
  if (schema.type === "array") return `list of ${schema.items ? typeOf(schema.items) : "values"}`;
  if (schema.type === "object") return "map";
  const low = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : undefined);
  if ((schema.type === "integer" || schema.type === "number") && low !== undefined) {
    return schema.maximum !== undefined && schema.maximum < Number.MAX_SAFE_INTEGER ? `${schema.type} ${low}..${schema.maximum}` : `${schema.type} >= ${low}`;
  }
  return schema.type ?? "any";
}

/** A default inside an optional object (`callLog.rotation`), which an empty configuration does not have. */
function inlineDefault(schema: JsonSchema): string {
  return schema.default === undefined || typeof schema.default === "object" ? "" : `\`${JSON.stringify(schema.default)}\` (once set)`;
}

/** The value an empty configuration gets at `path`: the schema's own defaults, after its transforms. */
function defaultAt(defaults: unknown, path: string): string {
  let value = defaults;
  for (const key of path.split(".")) value = value !== null && typeof value === "object" ? (value as Record<string, unknown>)[key] : undefined;
  if (value === undefined) return "";
  if (Array.isArray(value) && value.length === 0) return "";
  if (value !== null && typeof value === "object" && Object.keys(value).length === 0) return "";
  return `\`${JSON.stringify(value)}\``;
}

/**
 * Every key of the configuration file, with the environment variable that overrides it, its type and its
 * default, read from the schema itself (docs/configuration.md is this, and a test keeps it so). What each
 * setting is for is the README's table.
 */
export function configReference(): string {
  const json = z.toJSONSchema(configSchema, { io: "input", unrepresentable: "any" }) as JsonSchema;
  const defaults: unknown = configSchema.parse({});
  const envOf = new Map(environmentKeys.map(([name, keys]) => [keys.join("."), name]));
  const rows: string[] = [];
  const walk = (properties: Record<string, JsonSchema>, prefix: string): void => {
    for (const [key, schema] of Object.entries(properties)) {
      const path = `${prefix}${key}`;
      if (schema.type === "object" && schema.properties && schema.additionalProperties === false) {
        walk(schema.properties, `${path}.`);
        continue;
      }
      const env = envOf.get(path);
      rows.push(`| \`${path}\` | ${env ? `\`${env}\`` : ""} | ${typeOf(schema)} | ${defaultAt(defaults, path) || inlineDefault(schema)} |`);
    }
  };
  walk(json.properties ?? {}, "");
  return [
    "# Configuration reference",
    "",
    "Generated from the configuration schema (`src/config/config.schema.ts`) by `npm run docs:config`; a test fails",
    "when it is stale. Keys are those of the configuration file; the environment variable, where there is one,",
    "overrides the file. The README's table says what each setting is for.",
    "",
    "| file key | environment | type | default |",
    "|---|---|---|---|",
    ...rows,
    "",
  ].join("\n");
}
