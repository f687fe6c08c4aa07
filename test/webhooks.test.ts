import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { JobView } from "../src/jobs/job.js";
import type { JobNotifier } from "../src/jobs/job-notifier.js";
import { webhookAddressPolicy } from "../src/jobs/webhook-address.js";
import { WebhookNotifier } from "../src/jobs/webhook-notifier.js";
import { InProcessWebhookQueue, type RetryPolicy, type WebhookQueue } from "../src/jobs/webhook-queue.js";
import { WebhookSender } from "../src/jobs/webhook-sender.js";
import { createAppLogger } from "../src/observability/app-logger.js";
import type { OutputAddressPolicy } from "../src/upstream/output-address.js";
import { ConfigError, parseConfig } from "../src/config/load-config.js";
import { GatewayError } from "../src/errors.js";
import { buildServices } from "../src/services.js";
import { tableResolver } from "./support/resolver.js";
import { startWebhookReceiver, verifySignature, type WebhookReceiver } from "./support/webhook-receiver.js";
import { waitFor } from "./support/wait.js";

const SECRET = "whsec-test-0123456789abcdef-SECRET";

/** A finished job as the queue engine hands it over. */
function finishedJob(overrides: Partial<JobView> = {}): JobView {
  return {
    id: `job-${Math.random().toString(36).slice(2)}`,
    status: "SUCCEEDED",
    model: "Qwen/Qwen-Image",
    createdAt: Date.UTC(2026, 11, 1, 12, 0, 0),
    startedAt: Date.UTC(2026, 11, 1, 12, 0, 1),
    finishedAt: Date.UTC(2026, 11, 1, 12, 0, 5, 250),
    queuePosition: null,
    result: {
      callId: "call-1",
      provider: "SIMULATOR",
      model: "Qwen/Qwen-Image",
      seed: 42,
      images: [{ index: 0, url: "https://gw.example/images/abc.png", width: 1024, height: 1024, mimeType: "image/png", bytes: 1234, fileName: "abc.png" }],
      timings: { inferenceSeconds: 1.5, totalMs: 4250 },
      cacheHit: false,
    },
    error: null,
    ...overrides,
  };
}

interface Setup {
  notifier: WebhookNotifier;
  queue: WebhookQueue;
  /** The application log so far, parsed. */
  logs: () => Array<Record<string, unknown>>;
  rawLog: string[];
}

const queues: WebhookQueue[] = [];

function setup(options: { policy?: OutputAddressPolicy; retry?: RetryPolicy; secret?: string | undefined; timeoutMs?: number } = {}): Setup {
  const rawLog: string[] = [];
  const logger = createAppLogger({ level: "debug", destination: { write: (line: string) => void rawLog.push(line) }, secrets: [SECRET] });
  const policy = options.policy ?? webhookAddressPolicy(true);
  const secret = "secret" in options ? options.secret : SECRET;
  const sender = new WebhookSender({ secret: secret ?? "", policy, timeoutMs: options.timeoutMs ?? 2_000, logger });
  const queue = new InProcessWebhookQueue(sender, options.retry ?? { attempts: 4, backoffMs: 20 }, logger);
  queues.push(queue);
  const notifier = new WebhookNotifier({ secret, policy, queue: secret ? queue : undefined, logger });
  return {
    notifier,
    queue,
    rawLog,
    logs: () => rawLog.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

/** The log lines of webhook attempts, in order. */
function attempts(logs: Array<Record<string, unknown>>): Array<Record<string, unknown>> {
  return logs.filter((line) => typeof line.deliveryId === "string" && typeof line.attempt === "number");
}

async function refusal(notifier: JobNotifier, url: string): Promise<GatewayError> {
  const error = await notifier.check(url).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error, `${url} is refused`).toBeInstanceOf(GatewayError);
  return error as GatewayError;
}

let receiver: WebhookReceiver;
beforeAll(async () => {
  receiver = await startWebhookReceiver();
});
afterEach(async () => {
  await Promise.all(queues.splice(0).map((queue) => queue.close()));
  receiver.received.length = 0;
  receiver.answer(204);
});
afterAll(async () => {
  await receiver.close();
});

describe("a finished job's webhook, as a receiver sees it", () => {
  it("is POSTed once, signed with WEBHOOK_SECRET over '<timestamp>.<raw body>', with the job as the schema has it", async () => {
    const { notifier, logs } = setup();
    const job = finishedJob();
    notifier.finished(`${receiver.url}/hooks/jobs?token=receiver-own-secret`, job);
    const [webhook] = await waitFor(async () => (receiver.received.length > 0 ? receiver.received : undefined));
    expect(webhook!.path).toBe("/hooks/jobs?token=receiver-own-secret");
    expect(verifySignature(SECRET, webhook!)).toBe(true);
    expect(verifySignature("another-secret-of-some-length", webhook!)).toBe(false);
    expect(verifySignature(SECRET, { ...webhook!, body: webhook!.body.replace("SUCCEEDED", "FAILED") })).toBe(false);
    expect(webhook!.headers).toMatchObject({
      "content-type": "application/json",
      "user-agent": expect.stringMatching(/^siliconflow-image-gateway\/\S+ \(webhooks\)$/),
      "x-gateway-delivery": `${job.id}.generation.finished`,
      "x-gateway-signature": expect.stringMatching(/^sha256=[0-9a-f]{64}$/),
    });
    expect(Math.abs(Number(webhook!.headers["x-gateway-timestamp"]) - Date.now() / 1000)).toBeLessThan(5);
    expect(JSON.parse(webhook!.body)).toEqual({
      event: "generation.finished",
      job: {
        id: job.id,
        status: "SUCCEEDED",
        model: "Qwen/Qwen-Image",
        createdAt: "2026-12-01T12:00:00.000Z",
        startedAt: "2026-12-01T12:00:01.000Z",
        finishedAt: "2026-12-01T12:00:05.250Z",
        queuePosition: null,
        result: {
          callId: "call-1",
          provider: "SIMULATOR",
          model: "Qwen/Qwen-Image",
          seed: 42,
          images: [{ index: 0, url: "https://gw.example/images/abc.png", width: 1024, height: 1024, mimeType: "image/png", bytes: 1234 }],
          timings: { inferenceSeconds: 1.5, totalMs: 4250 },
          cacheHit: false,
        },
        error: null,
      },
    });
    const [line] = await waitFor(async () => (attempts(logs()).length > 0 ? attempts(logs()) : undefined));
    expect(line).toMatchObject({
      level: 30,
      deliveryId: `${job.id}.generation.finished`,
      jobId: job.id,
      url: `${receiver.url}/hooks/jobs`,
      attempt: 1,
      attempts: 4,
      status: 204,
      durationMs: expect.any(Number),
    });
  });

  it("a FAILED job carries its error and no result", async () => {
    const { notifier } = setup();
    notifier.finished(`${receiver.url}/hook`, finishedJob({ status: "FAILED", result: null, error: { code: "UPSTREAM_TIMEOUT", message: "no answer" } }));
    const [webhook] = await waitFor(async () => (receiver.received.length > 0 ? receiver.received : undefined));
    expect(JSON.parse(webhook!.body).job).toMatchObject({ status: "FAILED", result: null, error: { code: "UPSTREAM_TIMEOUT", message: "no answer" } });
    expect(verifySignature(SECRET, webhook!)).toBe(true);
  });

  it("HTTP 500 then 200: retried after a backoff, delivered once, the same delivery id, each attempt logged", async () => {
    const { notifier, logs } = setup();
    receiver.answer(500, 200);
    notifier.finished(`${receiver.url}/hook`, finishedJob());
    await waitFor(async () => (attempts(logs()).length >= 2 ? true : undefined));
    expect(receiver.received).toHaveLength(2);
    const [first, second] = receiver.received;
    expect(second!.headers["x-gateway-delivery"]).toBe(first!.headers["x-gateway-delivery"]);
    expect(second!.body).toBe(first!.body);
    expect(verifySignature(SECRET, second!)).toBe(true);
    expect(attempts(logs()).map(({ level, attempt, status }) => ({ level, attempt, status }))).toEqual([
      { level: 40, attempt: 1, status: 500 },
      { level: 30, attempt: 2, status: 200 },
    ]);
  });

  it("always 500: given up after WEBHOOK_ATTEMPTS attempts, each logged, the last as given up", async () => {
    const { notifier, logs } = setup({ retry: { attempts: 3, backoffMs: 20 } });
    receiver.answer(500);
    notifier.finished(`${receiver.url}/hook`, finishedJob());
    await waitFor(async () => (attempts(logs()).length >= 3 ? true : undefined));
    // Nothing more comes after the last attempt.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(receiver.received).toHaveLength(3);
    const lines = attempts(logs());
    expect(lines.map(({ level, attempt, status }) => ({ level, attempt, status }))).toEqual([
      { level: 40, attempt: 1, status: 500 },
      { level: 40, attempt: 2, status: 500 },
      { level: 50, attempt: 3, status: 500 },
    ]);
    expect(lines[2]!.msg).toMatch(/not delivered, given up after attempt 3 of 3: the receiver answered HTTP 500/);
  });

  it("a receiver that does not answer in time is retried; an unreachable one too", async () => {
    const { notifier, logs } = setup({ retry: { attempts: 2, backoffMs: 20 }, timeoutMs: 300 });
    receiver.answer(() => undefined, 204);
    notifier.finished(`${receiver.url}/hook`, finishedJob());
    await waitFor(async () => (attempts(logs()).length >= 2 ? true : undefined));
    expect(attempts(logs()).map(({ attempt, status, reason }) => ({ attempt, status, reason }))).toEqual([
      { attempt: 1, status: null, reason: "no answer within 300 ms" },
      { attempt: 2, status: 204, reason: undefined },
    ]);

    const unreachable = setup({ retry: { attempts: 2, backoffMs: 20 } });
    unreachable.notifier.finished("http://127.0.0.1:1/hook", finishedJob());
    await waitFor(async () => (attempts(unreachable.logs()).length >= 2 ? true : undefined));
    expect(attempts(unreachable.logs()).map(({ reason }) => reason)).toEqual([expect.stringMatching(/ECONNREFUSED/), expect.stringMatching(/ECONNREFUSED/)]);
  });

  it("the secret is in no log line", async () => {
    const { notifier, rawLog } = setup({ retry: { attempts: 2, backoffMs: 20 } });
    receiver.answer(500);
    notifier.finished(`${receiver.url}/hook`, finishedJob());
    await waitFor(async () => (rawLog.length >= 2 ? true : undefined));
    expect(rawLog.join("\n")).not.toContain(SECRET);
  });

  it("a retry still waiting at shutdown is dropped, and the log says so", async () => {
    const { notifier, queue, logs } = setup({ retry: { attempts: 3, backoffMs: 60_000 } });
    receiver.answer(500);
    const job = finishedJob();
    notifier.finished(`${receiver.url}/hook`, job);
    await waitFor(async () => (attempts(logs()).length >= 1 ? true : undefined));
    await queue.close();
    expect(logs().at(-1)).toMatchObject({ level: 40, jobIds: [job.id], msg: expect.stringMatching(/1 webhooks waiting for a retry are dropped at shutdown/) });
    expect(receiver.received).toHaveLength(1);
  });
});

describe("where webhooks may go (SSRF)", () => {
  it.each([
    ["http://127.0.0.1:8080/hook", /its host 127\.0\.0\.1 is a loopback address/],
    ["http://[::1]/hook", /its host ::1 is a loopback address/],
    ["http://10.1.2.3/hook", /its host 10\.1\.2\.3 is a private address/],
    ["http://192.168.0.10/hook", /is a private address/],
    ["http://169.254.169.254/latest/meta-data", /its host 169\.254\.169\.254 is a link-local address/],
    ["http://[::ffff:10.0.0.1]/hook", /is a private address/],
    ["http://0x7f.1/hook", /127\.0\.0\.1 is a loopback address/],
    ["http://0.0.0.0/hook", /is an unspecified address/],
    ["http://localhost:4000/hook", /its host localhost is a loopback name/],
    ["http://intranet.test/hook", /its host intranet\.test resolves to 10\.0\.0\.7, a private address/],
    ["http://mixed.test/hook", /resolves to 169\.254\.1\.1, a link-local address/],
    ["http://nowhere.test/hook", /its host nowhere\.test does not resolve \(ENOTFOUND\)/],
    ["ftp://public.test/hook", /its scheme is ftp: and only http and https are called/],
    ["file:///etc/passwd", /its scheme is file:/],
    ["not a url", /it is not a valid URL/],
    [`https://public.test/${"a".repeat(2100)}`, /longer than 2048 characters/],
  ])("%s is refused at submission: BAD_USER_INPUT, field webhookUrl", async (url, reason) => {
    const resolve = tableResolver({ "intranet.test": ["10.0.0.7"], "mixed.test": ["8.8.8.8", "169.254.1.1"], "public.test": ["8.8.8.8"] });
    const { notifier } = setup({ policy: webhookAddressPolicy(false, resolve) });
    const error = await refusal(notifier, url);
    expect(error.extensions).toEqual({ code: "BAD_USER_INPUT", field: "webhookUrl" });
    expect(error.message).toMatch(/^webhookUrl is refused: /);
    expect(error.message).toMatch(reason);
    expect(error.message).toMatch(/WEBHOOK_ALLOW_PRIVATE=true/);
  });

  it("a public address or name is accepted; with WEBHOOK_ALLOW_PRIVATE private and loopback ones are too", async () => {
    const resolve = tableResolver({ "public.test": ["8.8.8.8", "2606:4700:4700::1111"], "intranet.test": ["10.0.0.7"] });
    const strict = setup({ policy: webhookAddressPolicy(false, resolve) });
    await expect(strict.notifier.check("https://public.test/hook")).resolves.toBeUndefined();
    await expect(strict.notifier.check("https://8.8.8.8/hook")).resolves.toBeUndefined();
    const open = setup({ policy: webhookAddressPolicy(true, resolve) });
    await expect(open.notifier.check("http://intranet.test/hook")).resolves.toBeUndefined();
    await expect(open.notifier.check(`${receiver.url}/hook`)).resolves.toBeUndefined();
    // Nothing receives webhooks at these, allowed or not.
    expect((await refusal(open.notifier, "http://0.0.0.0/hook")).message).toMatch(/unspecified/);
    expect((await refusal(open.notifier, "http://224.0.0.1/hook")).message).toMatch(/reserved/);
  });

  it("without WEBHOOK_SECRET a webhookUrl is refused with WEBHOOKS_NOT_CONFIGURED", async () => {
    const { notifier } = setup({ secret: undefined });
    const error = await refusal(notifier, "https://8.8.8.8/hook");
    expect(error.extensions).toEqual({ code: "WEBHOOKS_NOT_CONFIGURED", field: "webhookUrl" });
    expect(error.message).toMatch(/no WEBHOOK_SECRET/);
  });

  // Loopback stands for "public" here (allowed), 10.0.0.0/8 for the private network: tests never connect elsewhere.
  const loopbackAsPublic = (table: Record<string, string[]>): OutputAddressPolicy => ({ allowed: new Set(["public", "loopback"]), resolve: tableResolver(table) });

  it("a name rebound to a private address after submission is refused when the delivery connects, and not retried", async () => {
    const table: Record<string, string[]> = { "hooks.test": ["127.0.0.1"] };
    const { notifier, logs } = setup({ policy: loopbackAsPublic(table) });
    const port = new URL(receiver.url).port;
    await notifier.check(`http://hooks.test:${port}/hook`);
    table["hooks.test"] = ["10.0.0.9"];
    notifier.finished(`http://hooks.test:${port}/hook`, finishedJob());
    const [line] = await waitFor(async () => (attempts(logs()).length > 0 ? attempts(logs()) : undefined));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(attempts(logs())).toHaveLength(1);
    expect(line).toMatchObject({ level: 50, attempt: 1, status: null, reason: "refused: its host hooks.test resolves to 10.0.0.9, a private address" });
    expect(receiver.received).toHaveLength(0);
  });

  it.each([
    ["an address", "http://10.0.0.9/steal", "refused: its host 10.0.0.9 is a private address"],
    ["the metadata endpoint", "http://169.254.169.254/latest/meta-data", "refused: its host 169.254.169.254 is a link-local address"],
    ["a name", "http://inside.test/steal", "refused: its host inside.test resolves to 10.0.0.9, a private address"],
  ])("a redirect to a private %s is not followed, and not retried", async (_what, location, reason) => {
    const { notifier, logs } = setup({ policy: loopbackAsPublic({ "inside.test": ["10.0.0.9"] }) });
    receiver.answer((response) => {
      response.writeHead(307, { location });
      response.end();
    });
    notifier.finished(`${receiver.url}/hook`, finishedJob());
    const [line] = await waitFor(async () => (attempts(logs()).length > 0 ? attempts(logs()) : undefined));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(receiver.received).toHaveLength(1);
    expect(attempts(logs())).toHaveLength(1);
    expect(line).toMatchObject({ level: 50, attempt: 1, reason });
  });

  it("a redirect to an allowed address is followed, the body and signature kept", async () => {
    const { notifier } = setup();
    receiver.answer((response) => {
      response.writeHead(308, { location: `${receiver.url}/moved` });
      response.end();
    }, 204);
    notifier.finished(`${receiver.url}/hook`, finishedJob());
    await waitFor(async () => (receiver.received.length >= 2 ? true : undefined));
    expect(receiver.received.map((r) => r.path)).toEqual(["/hook", "/moved"]);
    expect(receiver.received[1]!.body).toBe(receiver.received[0]!.body);
    expect(verifySignature(SECRET, receiver.received[1]!)).toBe(true);
  });
});

describe("the webhook settings", () => {
  it("come from the environment", () => {
    const config = parseConfig({}, { WEBHOOK_SECRET: SECRET, WEBHOOK_ALLOW_PRIVATE: "true", WEBHOOK_ATTEMPTS: "3", WEBHOOK_BACKOFF_MS: "500", WEBHOOK_TIMEOUT_MS: "1500" });
    expect(config.webhooks).toEqual({ secret: SECRET, allowPrivate: true, attempts: 3, backoffMs: 500, timeoutMs: 1500 });
    expect(parseConfig({}, {}).webhooks).toEqual({ secret: undefined, allowPrivate: false, attempts: 5, backoffMs: 2000, timeoutMs: 10000 });
  });

  it("a secret too short to sign with stops the start, named but not echoed", () => {
    let message = "";
    try {
      parseConfig({}, { WEBHOOK_SECRET: "tooShort-123" });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      message = String(error);
    }
    expect(message).toMatch(/webhooks\.secret \(WEBHOOK_SECRET\): is too short to sign with: use at least 16 characters/);
    expect(message).not.toContain("tooShort-123");
  });
});

describe("the webhooks as buildServices makes them from the configuration", () => {
  async function services(env: Record<string, string>) {
    const root = await mkdtemp(path.join(tmpdir(), "gateway-webhooks-"));
    const rawLog: string[] = [];
    const logger = createAppLogger({ level: "debug", destination: { write: (line: string) => void rawLog.push(line) } });
    const built = await buildServices(parseConfig({ logDir: path.join(root, "logs"), dataDir: path.join(root, "data"), siliconflow: { modelsRefreshMs: 0 } }, env), { logger });
    return {
      built,
      rawLog,
      async close() {
        await built.close();
        await rm(root, { recursive: true, force: true });
      },
    };
  }

  it("WEBHOOK_SECRET signs, WEBHOOK_ALLOW_PRIVATE lets a loopback receiver in, WEBHOOK_ATTEMPTS bounds the retries; the secret is in no log line", async () => {
    const gateway = await services({ WEBHOOK_SECRET: SECRET, WEBHOOK_ALLOW_PRIVATE: "true", WEBHOOK_ATTEMPTS: "2", WEBHOOK_BACKOFF_MS: "20" });
    try {
      receiver.answer(500);
      await gateway.built.jobNotifier.check(`${receiver.url}/hook`);
      gateway.built.jobNotifier.finished(`${receiver.url}/hook`, finishedJob());
      await waitFor(async () => (receiver.received.length >= 2 ? true : undefined));
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(receiver.received).toHaveLength(2);
      expect(verifySignature(SECRET, receiver.received[0]!)).toBe(true);
      expect(gateway.rawLog.join("\n")).toMatch(/given up after attempt 2 of 2/);
      expect(gateway.rawLog.join("\n")).toMatch(/webhooks on: signed with WEBHOOK_SECRET, their retries kept in this process \(without REDIS_URL a restart drops the waiting ones\)/);
      expect(gateway.rawLog.join("\n")).not.toContain(SECRET);
    } finally {
      await gateway.close();
    }
  });

  it("by default a loopback receiver is refused, and without a secret any webhook is", async () => {
    const strict = await services({ WEBHOOK_SECRET: SECRET });
    try {
      expect((await refusal(strict.built.jobNotifier, `${receiver.url}/hook`)).extensions).toEqual({ code: "BAD_USER_INPUT", field: "webhookUrl" });
    } finally {
      await strict.close();
    }
    const none = await services({});
    try {
      expect((await refusal(none.built.jobNotifier, "https://8.8.8.8/hook")).code).toBe("WEBHOOKS_NOT_CONFIGURED");
    } finally {
      await none.close();
    }
  });
});
