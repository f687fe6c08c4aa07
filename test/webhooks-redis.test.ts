import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../src/config/load-config.js";
import { buildServices } from "../src/services.js";
import type { JobView } from "../src/jobs/job.js";
import { webhookAddressPolicy } from "../src/jobs/webhook-address.js";
import { BullWebhookQueue } from "../src/jobs/webhook-bull-queue.js";
import { WebhookNotifier } from "../src/jobs/webhook-notifier.js";
import { InProcessWebhookQueue, type RetryPolicy, type WebhookQueue } from "../src/jobs/webhook-queue.js";
import { WebhookSender } from "../src/jobs/webhook-sender.js";
import { createAppLogger } from "../src/observability/app-logger.js";
import type { OutputAddressPolicy } from "../src/upstream/output-address.js";
import { redisAvailable, startRedis, type TestRedis } from "./support/redis.js";
import { tableResolver } from "./support/resolver.js";
import { waitFor } from "./support/wait.js";
import { startWebhookReceiver, verifySignature, type WebhookReceiver } from "./support/webhook-receiver.js";

const SECRET = "whsec-test-0123456789abcdef-SECRET";

function finishedJob(): JobView {
  const now = Date.now();
  return {
    id: `job-${Math.random().toString(36).slice(2)}`,
    status: "FAILED",
    model: "Qwen/Qwen-Image",
    createdAt: now - 2_000,
    startedAt: now - 1_000,
    finishedAt: now,
    queuePosition: null,
    result: null,
    error: { code: "UPSTREAM_TIMEOUT", message: "no answer" },
  };
}

/** One gateway's webhook side on the shared Redis, as buildServices makes it; `stop` is its shutdown. */
interface Replica {
  notifier: WebhookNotifier;
  queue: WebhookQueue;
  attempts: () => Array<Record<string, unknown>>;
  logs: () => Array<Record<string, unknown>>;
}

describe.skipIf(!redisAvailable)("webhooks on Redis (BullMQ): retries survive a restart", () => {
  let redis: TestRedis;
  let receiver: WebhookReceiver;
  const running: WebhookQueue[] = [];

  function replica(retry: RetryPolicy, policy: OutputAddressPolicy = webhookAddressPolicy(true)): Replica {
    const lines: string[] = [];
    const logger = createAppLogger({ level: "debug", destination: { write: (line: string) => void lines.push(line) }, secrets: [SECRET] });
    const sender = new WebhookSender({ secret: SECRET, policy, timeoutMs: 2_000, logger });
    const queue = new BullWebhookQueue({ redisUrl: redis.url, sender, retry, logger, fallback: new InProcessWebhookQueue(sender, retry, logger) });
    running.push(queue);
    const logs = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    return {
      notifier: new WebhookNotifier({ secret: SECRET, policy, queue, logger }),
      queue,
      logs,
      attempts: () => logs().filter((line) => typeof line.attempt === "number"),
    };
  }

  beforeAll(async () => {
    redis = await startRedis();
    receiver = await startWebhookReceiver();
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((queue) => queue.close()));
    receiver.received.length = 0;
    receiver.answer(204);
  });
  afterAll(async () => {
    await receiver.close();
    await redis.kill();
  });

  it("HTTP 500 then 200: BullMQ retries it after the backoff, signed again, one delivery id", async () => {
    const a = replica({ attempts: 4, backoffMs: 50 });
    receiver.answer(500, 200);
    a.notifier.finished(`${receiver.url}/hook`, finishedJob());
    await waitFor(async () => (a.attempts().length >= 2 ? true : undefined));
    expect(receiver.received).toHaveLength(2);
    expect(receiver.received[1]!.headers["x-gateway-delivery"]).toBe(receiver.received[0]!.headers["x-gateway-delivery"]);
    expect(receiver.received.every((webhook) => verifySignature(SECRET, webhook))).toBe(true);
    expect(a.attempts().map(({ level, attempt, status }) => ({ level, attempt, status }))).toEqual([
      { level: 40, attempt: 1, status: 500 },
      { level: 30, attempt: 2, status: 200 },
    ]);
  });

  it("a retry waiting when the gateway stops is made by the next one to start", async () => {
    const a = replica({ attempts: 3, backoffMs: 1_500 });
    receiver.answer(503, 204);
    const job = finishedJob();
    a.notifier.finished(`${receiver.url}/hook`, job);
    await waitFor(async () => (a.attempts().length >= 1 ? true : undefined));
    await a.queue.close();
    running.splice(running.indexOf(a.queue), 1);
    expect(receiver.received).toHaveLength(1);

    const b = replica({ attempts: 3, backoffMs: 1_500 });
    await waitFor(async () => (b.attempts().length >= 1 ? true : undefined), 10_000);
    expect(receiver.received).toHaveLength(2);
    expect(JSON.parse(receiver.received[1]!.body).job.id).toBe(job.id);
    expect(b.attempts()).toMatchObject([{ level: 30, attempt: 2, attempts: 3, status: 204, jobId: job.id }]);
    expect(a.attempts()).toHaveLength(1);
  });

  it("always 500: given up after the attempts, each logged; a job reported twice is delivered once", async () => {
    const a = replica({ attempts: 3, backoffMs: 50 });
    receiver.answer(500);
    const job = finishedJob();
    a.notifier.finished(`${receiver.url}/hook`, job);
    a.notifier.finished(`${receiver.url}/hook`, job);
    await waitFor(async () => (a.attempts().length >= 3 ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(receiver.received).toHaveLength(3);
    expect(a.attempts().map(({ level, attempt }) => ({ level, attempt }))).toEqual([
      { level: 40, attempt: 1 },
      { level: 40, attempt: 2 },
      { level: 50, attempt: 3 },
    ]);
  });

  it("an address refused at delivery is not retried", async () => {
    const table: Record<string, string[]> = { "hooks.test": ["10.0.0.9"] };
    const a = replica({ attempts: 3, backoffMs: 50 }, { allowed: new Set(["public", "loopback"]), resolve: tableResolver(table) });
    a.notifier.finished(`http://hooks.test:${new URL(receiver.url).port}/hook`, finishedJob());
    await waitFor(async () => (a.attempts().length >= 1 ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(a.attempts()).toMatchObject([{ level: 50, attempt: 1, reason: "refused: its host hooks.test resolves to 10.0.0.9, a private address" }]);
    expect(receiver.received).toHaveLength(0);
  });

  it("with Redis down a webhook is delivered from the process instead, and the log says so", async () => {
    const a = replica({ attempts: 2, backoffMs: 50 });
    await redis.kill();
    try {
      a.notifier.finished(`${receiver.url}/hook`, finishedJob());
      await waitFor(async () => (receiver.received.length >= 1 ? true : undefined));
      expect(verifySignature(SECRET, receiver.received[0]!)).toBe(true);
      expect(a.logs().some((line) => /could not be queued in Redis; it is delivered from this process/.test(String(line.msg)))).toBe(true);
    } finally {
      await redis.restart();
    }
  });

  it("built from REDIS_URL by buildServices: a gateway restarted while a retry waits delivers it", async () => {
    const root = await mkdtemp(path.join(tmpdir(), "gateway-webhooks-"));
    const lines: string[] = [];
    const logger = createAppLogger({ level: "debug", destination: { write: (line: string) => void lines.push(line) }, secrets: [SECRET] });
    const start = () =>
      buildServices(
        parseConfig({ logDir: path.join(root, "logs"), dataDir: path.join(root, "data"), siliconflow: { modelsRefreshMs: 0 } }, {
          REDIS_URL: redis.url,
          WEBHOOK_SECRET: SECRET,
          WEBHOOK_ALLOW_PRIVATE: "true",
          WEBHOOK_BACKOFF_MS: "1000",
        }),
        { logger },
      );
    try {
      receiver.answer(500, 204);
      const first = await start();
      const job = finishedJob();
      first.jobNotifier.finished(`${receiver.url}/hook`, job);
      await waitFor(async () => (receiver.received.length >= 1 ? true : undefined));
      await first.close();
      const second = await start();
      try {
        await waitFor(async () => (receiver.received.length >= 2 ? true : undefined), 10_000);
        expect(verifySignature(SECRET, receiver.received[1]!)).toBe(true);
        expect(lines.some((line) => line.includes("their retries kept in Redis (they survive a restart)"))).toBe(true);
        expect(lines.some((line) => line.includes(`for job ${job.id}`) && line.includes("delivered (HTTP 204, attempt 2 of 5"))).toBe(true);
      } finally {
        await second.close();
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
