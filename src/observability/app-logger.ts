/**
 * The application log: pino JSON on stdout (pino-pretty in development), separate from the call
 * log. It must never hold a base64 image, a key or an Authorization header, whatever object a
 * caller hands it: sensitive property names are censored at any depth up to four levels, errors
 * lose the request options that HTTP clients attach to them, and messages and string values are
 * scrubbed (keys masked, images elided) and cut to MESSAGE_MAX_CHARS: a URL or a message may carry
 * whatever a client sent.
 */
import pino from "pino";
import { sanitizeMessage } from "./mask.js";
import { MESSAGE_MAX_CHARS, truncateText } from "./truncate.js";

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

// Fields an HTTP client's error carries that describe the request: headers, body, the raw objects.
const REQUEST_BEARING_ERROR_FIELDS = ["options", "request", "response", "body", "json", "config", "headers"];

function textScrubber(secrets: readonly string[]): (text: string) => string {
  return (text) => truncateText(sanitizeMessage(text, secrets), MESSAGE_MAX_CHARS);
}

// A stack holds its message and then about ten frames: cut only where a huge message would make it huge.
const STACK_MAX_CHARS = 4 * MESSAGE_MAX_CHARS;

function errorSerializer(scrubText: (text: string) => string, secrets: readonly string[]): pino.SerializerFn {
  // The value is whatever was logged under `err`, not necessarily an Error.
  return (value: unknown): unknown => {
    if (typeof value === "string") return scrubText(value);
    const serialized = pino.stdSerializers.err(value as Error) as unknown;
    if (serialized === null || typeof serialized !== "object") return serialized;
    const out = { ...(serialized as Record<string, unknown>) };
    for (const field of REQUEST_BEARING_ERROR_FIELDS) delete out[field];
    if (typeof out.message === "string") out.message = scrubText(out.message);
    if (typeof out.stack === "string") out.stack = truncateText(sanitizeMessage(out.stack, secrets), STACK_MAX_CHARS);
    return out;
  };
}

const sensitive = new Set<string>([...SENSITIVE_KEYS, "x-api-key"]);

function isPlain(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null || Array.isArray(value);
}

/**
 * Censors sensitive keys down to REDACT_DEPTHS levels and passes string values through `scrubText`, copying
 * only the objects on the way to a change. It runs per log line (formatters.log), not per child logger as
 * pino's wildcard redact paths do on every binding.
 */
export function scrubObject<T>(value: T, scrubText: (text: string) => string = (text) => text, depth = 0): T {
  if (typeof value === "string") return scrubText(value) as T;
  if (depth >= REDACT_DEPTHS || value === null || typeof value !== "object" || !isPlain(value)) return value;
  let copy: Record<string, unknown> | unknown[] | undefined;
  const source = value as Record<string, unknown>;
  for (const key of Object.keys(source)) {
    const current = source[key];
    const next = sensitive.has(key) ? REDACTED : scrubObject(current, scrubText, depth + 1);
    if (next !== current) {
      copy ??= Array.isArray(value) ? [...value] : { ...source };
      (copy as Record<string, unknown>)[key] = next;
    }
  }
  return (copy ?? value) as T;
}

export function createAppLogger(options: AppLoggerOptions = {}): pino.Logger {
  const secrets = [...(options.secrets ?? [])];
  const scrubText = textScrubber(secrets);
  const serializeError = errorSerializer(scrubText, secrets);
  const loggerOptions: pino.LoggerOptions = {
    level: options.level ?? "info",
    formatters: { log: (object) => scrubObject(object, scrubText), bindings: (bindings) => scrubObject(bindings, scrubText) },
    serializers: { err: serializeError, error: serializeError },
    hooks: {
      // Messages are scrubbed too: an interpolated upstream message may echo a key or a body.
      logMethod(args, method) {
        const scrubbed = args.map((arg: unknown) => (typeof arg === "string" ? scrubText(arg) : arg));
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
