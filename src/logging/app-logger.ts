/**
 * The application log: pino JSON on stdout (pino-pretty in development), separate from the call
 * log. It must never hold a base64 image, a key or an Authorization header, whatever object a
 * caller hands it: sensitive property names are censored at any depth up to four levels, errors
 * lose the request options that HTTP clients attach to them, and messages are scrubbed.
 */
import pino from "pino";
import { sanitizeMessage } from "./mask.js";

export interface AppLoggerOptions {
  level?: pino.LevelWithSilent;
  /** Human-readable lines through pino-pretty (a dev dependency: development only). */
  pretty?: boolean;
  /** Values masked wherever they appear in a message or an error (the SiliconFlow key). */
  secrets?: readonly string[];
  /** Where lines go instead of stdout (tests). Ignored when `pretty` is set. */
  destination?: pino.DestinationStream;
}

export const REDACTED = "[REDACTED]";

/** Property names whose values never reach the log, at any of the depths in `REDACT_DEPTHS`. */
const SENSITIVE_KEYS = [
  "authorization",
  "Authorization",
  "cookie",
  "apiKey",
  "api_key",
  "apikey",
  "token",
  "password",
  "secret",
  "image",
  "image2",
  "image3",
  "images",
  "base64",
  "b64_json",
  "dataUrl",
  "data_url",
] as const;
const REDACT_DEPTHS = 4;

/** `key`, `*.key`, `*.*.key` …: a wildcard in pino's redact matches exactly one level. */
export function redactPaths(): string[] {
  const paths: string[] = [];
  for (let depth = 0; depth < REDACT_DEPTHS; depth++) {
    const prefix = "*.".repeat(depth);
    for (const key of SENSITIVE_KEYS) paths.push(`${prefix}${key}`);
    paths.push(`${prefix}headers["x-api-key"]`);
  }
  // got's errors carry the whole request (headers with the key, the JSON body with base64 images).
  paths.push("err.options", "*.err.options", "error.options");
  return paths;
}

// Fields an HTTP client's error carries that describe the request: headers, body, the raw objects.
const REQUEST_BEARING_ERROR_FIELDS = ["options", "request", "response", "body", "json", "config", "headers"];

function errorSerializer(secrets: readonly string[]): pino.SerializerFn {
  // The value is whatever was logged under `err`, not necessarily an Error.
  return (value: unknown): unknown => {
    if (typeof value === "string") return sanitizeMessage(value, secrets);
    const serialized = pino.stdSerializers.err(value as Error) as unknown;
    if (serialized === null || typeof serialized !== "object") return serialized;
    const out = { ...(serialized as Record<string, unknown>) };
    for (const field of REQUEST_BEARING_ERROR_FIELDS) delete out[field];
    for (const field of ["message", "stack"]) {
      const text = out[field];
      if (typeof text === "string") out[field] = sanitizeMessage(text, secrets);
    }
    return out;
  };
}

export function createAppLogger(options: AppLoggerOptions = {}): pino.Logger {
  const secrets = [...(options.secrets ?? [])];
  const serializeError = errorSerializer(secrets);
  const loggerOptions: pino.LoggerOptions = {
    level: options.level ?? "info",
    redact: { paths: redactPaths(), censor: REDACTED },
    serializers: { err: serializeError, error: serializeError },
    hooks: {
      // Messages are scrubbed too: an interpolated upstream message may echo a key or a body.
      logMethod(args, method) {
        const scrubbed = args.map((arg: unknown) => (typeof arg === "string" ? sanitizeMessage(arg, secrets) : arg));
        // pino's LogFn overloads cannot be spread from an unknown[]; the arguments are the caller's own.
        return method.apply(this, scrubbed as Parameters<pino.LogFn>);
      },
    },
  };
  if (options.pretty) {
    return pino({
      ...loggerOptions,
      transport: { target: "pino-pretty", options: { colorize: true, translateTime: "SYS:standard", ignore: "pid,hostname" } },
    });
  }
  return options.destination ? pino(loggerOptions, options.destination) : pino(loggerOptions);
}
