import { z } from "zod";

const positiveInt = z.coerce.number().int().positive();
const nonNegativeInt = z.coerce.number().int().nonnegative();
/** Environment variables arrive as strings; "true"/"1" must mean true, "false"/"0" false. */
const flag = z.union([
  z.boolean(),
  z
    .enum(["true", "false", "1", "0", "yes", "no"])
    .transform((v) => v === "true" || v === "1" || v === "yes"),
]);
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === "" ? undefined : v.trim()));

/** A list from the file, or a comma-separated string from the environment. */
const stringList = z.preprocess(
  (v) => (typeof v === "string" ? v.split(",").map((s) => s.trim()).filter(Boolean) : v),
  z.array(z.string().min(1)),
);

export const rotationSchema = z
  .object({
    maxBytes: positiveInt.optional(),
    interval: z.enum(["hourly", "daily"]).nullable().optional(),
    retain: nonNegativeInt.default(10),
    gzip: flag.default(false),
  })
  .strict();

export const configSchema = z
  .object({
    port: z.coerce.number().int().min(0).max(65535).default(4000),
    host: z.string().min(1).default("0.0.0.0"),
    /** Absolute base of the URLs handed to clients; from the request's Host when unset. */
    publicUrl: z.url({ protocol: /^https?$/ }).optional().or(z.literal("").transform(() => undefined)),
    production: flag.default(false),
    /** The offline GraphQL IDE at /playground (and GET /graphql from a browser); unset means on unless production. */
    playground: flag.optional(),
    /** The REST faces' docs page at /docs (Swagger UI, served offline); unset means on unless production. /openapi.json stays on. */
    docs: flag.optional(),
    /** GraphQL introspection; unset means on unless production. */
    introspection: flag.optional(),
    /** Origins allowed to call from browsers (CORS); empty means same-origin only. `*` allows any. */
    corsOrigins: stringList.default([]),
    /** Whose X-Forwarded-For to believe for the client address: true, false, or addresses/CIDRs, comma-separated. */
    trustProxy: z.union([flag, z.string().min(1)]).default(false),
    /** This replica's name in every call-log line (`replica`), so several replicas' logs merge into one history; the hostname when unset. */
    replica: optionalString,
    siliconflow: z
      .object({
        apiKey: optionalString,
        baseUrl: z.url({ protocol: /^https?$/ }).default("https://api.siliconflow.cn/v1"),
        timeoutMs: positiveInt.default(180_000),
        maxRetries: nonNegativeInt.max(10).default(2),
        maxConcurrency: positiveInt.default(16),
        /** Calls that may wait for an upstream slot; more are refused with RATE_LIMITED. */
        maxQueue: nonNegativeInt.default(256),
        /** How long a call may wait for an upstream slot before RATE_LIMITED. */
        queueTimeoutMs: positiveInt.default(120_000),
        downloadTimeoutMs: positiveInt.default(60_000),
        /** How often the model list is fetched to learn which models the key may call; 0 turns it off. */
        modelsRefreshMs: nonNegativeInt.default(600_000),
      })
      .strict()
      .prefault({}),
    simulator: z
      .object({
        /** Port of the embedded simulator when no key is set; 0 picks a free one. */
        port: z.coerce.number().int().min(0).max(65535).default(0),
        latencyMs: nonNegativeInt.default(0),
      })
      .strict()
      .prefault({}),
    health: z
      .object({
        /** How long one upstream probe answers `health` queries. */
        probeCacheMs: nonNegativeInt.default(15_000),
      })
      .strict()
      .prefault({}),
    logDir: z.string().min(1).default("./logs"),
    logLevel: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
    dataDir: z.string().min(1).default("./data"),
    /** Where output images are kept: `disk` (under dataDir) or `s3` (an S3-compatible bucket, shared by replicas). */
    imageStore: z.enum(["disk", "s3"]).default("disk"),
    imageUrls: z
      .object({
        /** `gateway`: the payload's url is the gateway's /images route; `presigned`: a presigned URL of the S3 store, and the route redirects to one. */
        mode: z.enum(["gateway", "presigned"]).default("gateway"),
        /** How long a presigned URL works. */
        expirySeconds: positiveInt.max(604_800).default(3600),
      })
      .strict()
      .prefault({}),
    s3: z
      .object({
        /** Needed when imageStore is s3. */
        bucket: optionalString,
        /** For MinIO, R2, Ceph RGW…; AWS's own when unset. */
        endpoint: z.url({ protocol: /^https?$/ }).optional().or(z.literal("").transform(() => undefined)),
        region: z.string().min(1).default("us-east-1"),
        /** Keys go under it: `<prefix>images/<sha256>.<ext>`. */
        prefix: z.string().default(""),
        /** Path-style addresses (`endpoint/bucket/key`), which most self-hosted servers need. */
        forcePathStyle: flag.default(false),
        /** With secretAccessKey; when both are unset the SDK's default credential chain applies. */
        accessKeyId: optionalString,
        secretAccessKey: optionalString,
      })
      .strict()
      .prefault({}),
    callLog: z
      .object({
        rotation: rotationSchema.optional(),
        fsync: flag.default(false),
      })
      .strict()
      .prefault({}),
    uploads: z
      .object({
        maxBytes: positiveInt.default(20 * 1024 * 1024),
        maxFiles: positiveInt.max(100).default(3),
        maxLongSide: positiveInt.default(2048),
        maxInputPixels: positiveInt.default(40_000_000),
      })
      .strict()
      .prefault({}),
    limits: z
      .object({
        maxPromptLength: positiveInt.default(4000),
        /** generateImages calls in one operation, through aliases and fragments (each is a billed call). */
        maxGenerationsPerRequest: positiveInt.default(4),
        maxQueryDepth: positiveInt.default(12),
        /** One point per field selected, 50 per `dataUrl`; introspection is bounded apart. */
        maxQueryComplexity: positiveInt.default(1000),
        /** Whole multipart request, all files and fields; default: the file limits plus 1 MB. */
        maxRequestBytes: positiveInt.optional(),
        /** Bytes of inline image data (`dataUrl`) one response may carry; past it the field fails with RESPONSE_TOO_LARGE. */
        maxInlineBytesPerResponse: positiveInt.default(32 * 1024 * 1024),
        /** Images per minute and model, matching the account's SiliconFlow tier; refused before spending. */
        imagesPerMinute: z.record(z.string().min(1), positiveInt).default({}),
        /** A request body with no byte for this long is cut with 408 REQUEST_TIMEOUT. */
        bodyIdleTimeoutMs: positiveInt.default(10_000),
        /** A whole request (headers and body) not received within this is cut with 408 REQUEST_TIMEOUT. */
        bodyTimeoutMs: positiveInt.default(60_000),
        /**
         * Open connections per peer address; past it a new one is closed at once. 0 turns the cap off. Not
         * lower: 50 requests at once from one keep-alive client were seen to hold 75 connections, closing ones included.
         */
        maxConnectionsPerAddress: nonNegativeInt.default(256),
        /** Open WebSocket connections (subscriptions) per client (token, else address) on one replica; one more is closed with 4429. */
        maxWebSocketsPerClient: positiveInt.default(16),
        /** Subscriptions running at once on one WebSocket connection; one more is refused with RATE_LIMITED. */
        maxSubscriptionsPerConnection: positiveInt.default(32),
      })
      .strict()
      .prefault({}),
    cache: z
      .object({
        /** Keep results of seeded calls, so a repeat is not billed twice. */
        enabled: flag.default(true),
        maxEntries: positiveInt.default(10_000),
        ttlMs: positiveInt.default(24 * 3_600_000),
      })
      .strict()
      .prefault({}),
    /** Prometheus metrics at GET /metrics. */
    metrics: flag.default(true),
    /** How long in-flight calls may take to finish on SIGTERM before connections are cut. */
    shutdownTimeoutMs: positiveInt.default(30_000),
    auth: z
      .object({
        /** Client tokens; when any is set, generateImages needs `Authorization: Bearer <token>`. */
        tokens: stringList.default([]),
        /** Also require a token for health and models. */
        protectQueries: flag.default(false),
        /** Let a caller bring their own SiliconFlow key in `x-siliconflow-api-key`. */
        allowClientApiKey: flag.default(false),
      })
      .strict()
      .prefault({}),
    rateLimit: z
      .object({
        /** generateImages calls per client (token, else address) per window; off when unset. */
        callsPerWindow: positiveInt.optional(),
        windowSeconds: positiveInt.default(60),
        /**
         * Requests with a refused call (bad input, no token, CSRF, upload limits…) per client (token, else
         * address) per minute; past it every call is RATE_LIMITED until the minute ends. 0 turns it off.
         */
        refusalsPerMinute: nonNegativeInt.default(60),
        /** The older name of `redisUrl`, used (for everything shared, not only the counters) when that is unset. */
        redisUrl: z.string().min(1).optional(),
      })
      .strict()
      .prefault({}),
    /**
     * Redis for everything several replicas share: the rate-limit counters and the result cache. Wins over
     * `rateLimit.redisUrl`, the older name, which is used for all of it when this is unset.
     */
    redisUrl: optionalString,
    jobs: z
      .object({
        /** Whether this replica runs generation jobs; false: it only takes submissions (and serves reads). */
        workers: flag.default(true),
        /** Jobs this replica runs at once (they still share SILICONFLOW_MAX_CONCURRENCY with generateImages). */
        workerConcurrency: positiveInt.default(8),
        /** How long a job's record is kept after its last change; its output images stay. */
        recordTtlMs: positiveInt.default(7 * 24 * 3_600_000),
        /**
         * Jobs one client (token, else address) may have queued or running: each keeps its inputs in the image
         * store and a record until it ends, which the images-per-minute budget alone would let pile up.
         */
        maxQueuedPerClient: positiveInt.default(100),
        /** Jobs all clients together may have queued or running. */
        maxQueued: positiveInt.default(10_000),
        /** BullMQ: how long a worker's lock on a job lasts unrenewed; a job whose worker died is taken again after it. */
        lockMs: positiveInt.default(30_000),
        /** BullMQ: how often workers look for jobs whose lock expired (their worker died). */
        stalledIntervalMs: positiveInt.default(30_000),
      })
      .strict()
      .prefault({}),
    webhooks: z
      .object({
        /**
         * The key of every webhook's HMAC-SHA256 signature, shared with the receivers; a submission with a
         * `webhookUrl` is refused (WEBHOOKS_NOT_CONFIGURED) while it is unset: an unsigned call is one a
         * receiver cannot tell from anybody's.
         */
        secret: optionalString,
        /** Lets webhooks go to private, loopback and link-local addresses (a receiver on the same network). */
        allowPrivate: flag.default(false),
        /** Deliveries of one webhook at most, the first included, until the receiver answers 2xx. */
        attempts: positiveInt.max(20).default(5),
        /** The wait before the second delivery, doubled before each next one. */
        backoffMs: positiveInt.default(2_000),
        /** One delivery: connecting, sending and the receiver's answer. */
        timeoutMs: positiveInt.default(10_000),
      })
      .strict()
      .prefault({}),
    /** Model capability overrides and additions; checked by the model registry. */
    models: z.array(z.record(z.string(), z.unknown())).default([]),
  })
  .strict()
  .superRefine((config, context) => {
    if (config.imageStore === "s3" && !config.s3.bucket) {
      context.addIssue({ code: "custom", path: ["s3", "bucket"], message: "is required when imageStore is s3" });
    }
    if (config.imageUrls.mode === "presigned" && config.imageStore !== "s3") {
      context.addIssue({ code: "custom", path: ["imageUrls", "mode"], message: "presigned needs imageStore s3: the disk store has no URLs of its own" });
    }
    if (config.webhooks.secret !== undefined && config.webhooks.secret.length < 16) {
      context.addIssue({ code: "custom", path: ["webhooks", "secret"], message: "is too short to sign with: use at least 16 characters (e.g. `openssl rand -hex 32`)" });
    }
    if (!config.s3.accessKeyId !== !config.s3.secretAccessKey) {
      context.addIssue({ code: "custom", path: ["s3", config.s3.accessKeyId ? "secretAccessKey" : "accessKeyId"], message: "S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY go together: set both or neither" });
    }
  });

export type GatewayConfig = z.output<typeof configSchema>;
export type GatewayConfigInput = z.input<typeof configSchema>;

/** The environment names (fixed by the original design for the first few), and where each lands in the file's shape. */
export const environmentKeys: ReadonlyArray<readonly [string, readonly string[]]> = [
  ["PORT", ["port"]],
  ["HOST", ["host"]],
  ["PUBLIC_URL", ["publicUrl"]],
  ["GATEWAY_PRODUCTION", ["production"]],
  ["GATEWAY_PLAYGROUND", ["playground"]],
  ["GATEWAY_DOCS", ["docs"]],
  ["TRUST_PROXY", ["trustProxy"]],
  ["REPLICA_ID", ["replica"]],
  ["GATEWAY_INTROSPECTION", ["introspection"]],
  ["RESULT_CACHE", ["cache", "enabled"]],
  ["RESULT_CACHE_MAX_ENTRIES", ["cache", "maxEntries"]],
  ["RESULT_CACHE_TTL_MS", ["cache", "ttlMs"]],
  ["METRICS", ["metrics"]],
  ["SHUTDOWN_TIMEOUT_MS", ["shutdownTimeoutMs"]],
  ["CORS_ORIGINS", ["corsOrigins"]],
  ["GATEWAY_TOKENS", ["auth", "tokens"]],
  ["GATEWAY_PROTECT_QUERIES", ["auth", "protectQueries"]],
  ["ALLOW_CLIENT_API_KEY", ["auth", "allowClientApiKey"]],
  ["RATE_LIMIT_CALLS", ["rateLimit", "callsPerWindow"]],
  ["RATE_LIMIT_WINDOW_SECONDS", ["rateLimit", "windowSeconds"]],
  ["REDIS_URL", ["redisUrl"]],
  ["RATE_LIMIT_REDIS_URL", ["rateLimit", "redisUrl"]],
  ["RATE_LIMIT_REFUSALS_PER_MINUTE", ["rateLimit", "refusalsPerMinute"]],
  ["SILICONFLOW_MAX_QUEUE", ["siliconflow", "maxQueue"]],
  ["SILICONFLOW_QUEUE_TIMEOUT_MS", ["siliconflow", "queueTimeoutMs"]],
  ["MAX_REQUEST_BYTES", ["limits", "maxRequestBytes"]],
  ["BODY_IDLE_TIMEOUT_MS", ["limits", "bodyIdleTimeoutMs"]],
  ["BODY_TIMEOUT_MS", ["limits", "bodyTimeoutMs"]],
  ["MAX_CONNECTIONS_PER_ADDRESS", ["limits", "maxConnectionsPerAddress"]],
  ["MAX_WEBSOCKETS_PER_CLIENT", ["limits", "maxWebSocketsPerClient"]],
  ["MAX_SUBSCRIPTIONS_PER_CONNECTION", ["limits", "maxSubscriptionsPerConnection"]],
  ["MAX_GENERATIONS_PER_REQUEST", ["limits", "maxGenerationsPerRequest"]],
  ["MAX_INLINE_BYTES_PER_RESPONSE", ["limits", "maxInlineBytesPerResponse"]],
  ["SILICONFLOW_API_KEY", ["siliconflow", "apiKey"]],
  ["SILICONFLOW_BASE_URL", ["siliconflow", "baseUrl"]],
  ["SILICONFLOW_TIMEOUT_MS", ["siliconflow", "timeoutMs"]],
  ["SILICONFLOW_MAX_RETRIES", ["siliconflow", "maxRetries"]],
  ["SILICONFLOW_MAX_CONCURRENCY", ["siliconflow", "maxConcurrency"]],
  ["SILICONFLOW_DOWNLOAD_TIMEOUT_MS", ["siliconflow", "downloadTimeoutMs"]],
  ["SILICONFLOW_MODELS_REFRESH_MS", ["siliconflow", "modelsRefreshMs"]],
  ["HEALTH_PROBE_CACHE_MS", ["health", "probeCacheMs"]],
  ["SIMULATOR_PORT", ["simulator", "port"]],
  ["SIMULATOR_LATENCY_MS", ["simulator", "latencyMs"]],
  ["LOG_DIR", ["logDir"]],
  ["LOG_LEVEL", ["logLevel"]],
  ["DATA_DIR", ["dataDir"]],
  ["IMAGE_STORE", ["imageStore"]],
  ["IMAGE_URL_MODE", ["imageUrls", "mode"]],
  ["IMAGE_URL_EXPIRY_SECONDS", ["imageUrls", "expirySeconds"]],
  ["S3_BUCKET", ["s3", "bucket"]],
  ["S3_ENDPOINT", ["s3", "endpoint"]],
  ["S3_REGION", ["s3", "region"]],
  ["S3_PREFIX", ["s3", "prefix"]],
  ["S3_FORCE_PATH_STYLE", ["s3", "forcePathStyle"]],
  ["S3_ACCESS_KEY_ID", ["s3", "accessKeyId"]],
  ["S3_SECRET_ACCESS_KEY", ["s3", "secretAccessKey"]],
  ["CALL_LOG_FSYNC", ["callLog", "fsync"]],
  ["MAX_UPLOAD_BYTES", ["uploads", "maxBytes"]],
  ["MAX_UPLOAD_FILES", ["uploads", "maxFiles"]],
  ["MAX_INPUT_LONG_SIDE", ["uploads", "maxLongSide"]],
  ["MAX_INPUT_PIXELS", ["uploads", "maxInputPixels"]],
  ["MAX_PROMPT_LENGTH", ["limits", "maxPromptLength"]],
  ["GATEWAY_WORKERS", ["jobs", "workers"]],
  ["GATEWAY_WORKER_CONCURRENCY", ["jobs", "workerConcurrency"]],
  ["GATEWAY_JOB_TTL_MS", ["jobs", "recordTtlMs"]],
  ["GATEWAY_MAX_QUEUED_JOBS_PER_CLIENT", ["jobs", "maxQueuedPerClient"]],
  ["GATEWAY_MAX_QUEUED_JOBS", ["jobs", "maxQueued"]],
  ["GATEWAY_JOB_LOCK_MS", ["jobs", "lockMs"]],
  ["GATEWAY_JOB_STALLED_INTERVAL_MS", ["jobs", "stalledIntervalMs"]],
  ["WEBHOOK_SECRET", ["webhooks", "secret"]],
  ["WEBHOOK_ALLOW_PRIVATE", ["webhooks", "allowPrivate"]],
  ["WEBHOOK_ATTEMPTS", ["webhooks", "attempts"]],
  ["WEBHOOK_BACKOFF_MS", ["webhooks", "backoffMs"]],
  ["WEBHOOK_TIMEOUT_MS", ["webhooks", "timeoutMs"]],
];
