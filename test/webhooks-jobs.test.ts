import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson, startHarness, type Harness } from "./support/harness.js";
import { redisAvailable, startRedis, type TestRedis } from "./support/redis.js";
import { waitFor } from "./support/wait.js";
import { startWebhookReceiver, verifySignature, type ReceivedWebhook, type WebhookReceiver } from "./support/webhook-receiver.js";

const SECRET = "whsec-e2e-0123456789abcdef-SECRET";

const SUBMIT = /* GraphQL */ `
  mutation Submit($input: GenerateImagesInput!, $webhookUrl: String) {
    submitGeneration(input: $input, webhookUrl: $webhookUrl) { id status }
  }
`;

const JOB = /* GraphQL */ `
  query Job($id: ID!) {
    generationJob(id: $id) {
      id status model createdAt startedAt finishedAt queuePosition
      result { callId provider model seed images { index url width height mimeType bytes } timings { inferenceSeconds totalMs } cacheHit }
      error { code message }
    }
  }
`;

interface Submitted {
  submitGeneration: { id: string; status: string } | null;
}

const input = { model: "Qwen/Qwen-Image", prompt: "a lighthouse at dusk" };

function webhookFor(receiver: WebhookReceiver, jobId: string): Promise<ReceivedWebhook> {
  return waitFor(async () => receiver.received.find((webhook) => (JSON.parse(webhook.body) as { job: { id: string } }).job.id === jobId), 10_000);
}

describe("webhooks through the gateway: submitGeneration(webhookUrl:)", () => {
  let h: Harness;
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    // The receiver is on loopback, as every test server is: the gateway is told to allow it.
    h = await startHarness({ env: { WEBHOOK_SECRET: SECRET, WEBHOOK_ALLOW_PRIVATE: "true", WEBHOOK_BACKOFF_MS: "50" } });
  });
  afterAll(async () => {
    await h?.close();
    await receiver?.close();
  });

  it("a SUCCEEDED job is POSTed signed, with the job as generationJob answers it", async () => {
    const { body } = await postJson<Submitted>(h.graphqlUrl, SUBMIT, { input, webhookUrl: `${receiver.url}/hooks/done` });
    expect(body.errors).toBeUndefined();
    const id = body.data!.submitGeneration!.id;
    const webhook = await webhookFor(receiver, id);
    expect(verifySignature(SECRET, webhook)).toBe(true);
    expect(webhook.path).toBe("/hooks/done");
    const sent = JSON.parse(webhook.body) as { event: string; job: Record<string, unknown> };
    expect(sent.event).toBe("generation.finished");
    expect(sent.job).toMatchObject({ id, status: "SUCCEEDED", error: null });
    const queried = await postJson<{ generationJob: Record<string, unknown> }>(h.graphqlUrl, JOB, { id });
    expect(sent.job).toEqual(queried.body.data!.generationJob);
  });

  it("a FAILED job is POSTed with its error, retried past a receiver's 500", async () => {
    receiver.answer(500, 204);
    h.simulator.addFault({ fault: { kind: "status", status: 400, body: '{"code":20012,"message":"bad size"}' }, times: 1 });
    const before = receiver.received.length;
    const { body } = await postJson<Submitted>(h.graphqlUrl, SUBMIT, { input, webhookUrl: `${receiver.url}/hooks/failed` });
    expect(body.errors).toBeUndefined();
    const id = body.data!.submitGeneration!.id;
    await waitFor(async () => (receiver.received.length >= before + 2 ? true : undefined), 10_000);
    const [first, second] = receiver.received.slice(before);
    expect(second!.headers["x-gateway-delivery"]).toBe(first!.headers["x-gateway-delivery"]);
    expect(verifySignature(SECRET, second!)).toBe(true);
    expect(JSON.parse(second!.body).job).toMatchObject({ id, status: "FAILED", result: null, error: { code: "UPSTREAM_BAD_REQUEST" } });
    receiver.answer(204);
  });

  it("every attempt is counted in /metrics by its outcome", async () => {
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    expect(metrics).toMatch(/^siliconflow_gateway_webhook_attempts_total\{outcome="delivered"\} 2$/m);
    expect(metrics).toMatch(/^siliconflow_gateway_webhook_attempts_total\{outcome="retried"\} 1$/m);
  });
});

describe("webhooks of a cancelled job, and on Redis", () => {
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    receiver = await startWebhookReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
  });

  it("a job cancelled while QUEUED (no worker runs here) is POSTed CANCELLED", async () => {
    const h = await startHarness({ env: { WEBHOOK_SECRET: SECRET, WEBHOOK_ALLOW_PRIVATE: "true", GATEWAY_WORKERS: "false" } });
    try {
      const { body } = await postJson<Submitted>(h.graphqlUrl, SUBMIT, { input, webhookUrl: `${receiver.url}/hooks/cancelled` });
      const id = body.data!.submitGeneration!.id;
      const cancelled = await postJson(h.graphqlUrl, `mutation($id: ID!) { cancelGeneration(id: $id) { status } }`, { id });
      expect(cancelled.body.errors).toBeUndefined();
      const webhook = await webhookFor(receiver, id);
      expect(verifySignature(SECRET, webhook)).toBe(true);
      expect(JSON.parse(webhook.body).job).toMatchObject({ id, status: "CANCELLED", result: null, error: { code: "JOB_CANCELLED" } });
      expect(h.simulator.stats().generations).toBe(0);
    } finally {
      await h.close();
    }
  });

  it.skipIf(!redisAvailable)("with REDIS_URL (BullMQ jobs and BullMQ deliveries) a SUCCEEDED job is POSTed signed, once", async () => {
    const redis: TestRedis = await startRedis();
    const h = await startHarness({ env: { REDIS_URL: redis.url, WEBHOOK_SECRET: SECRET, WEBHOOK_ALLOW_PRIVATE: "true" } });
    try {
      const { body } = await postJson<Submitted>(h.graphqlUrl, SUBMIT, { input, webhookUrl: `${receiver.url}/hooks/redis` });
      expect(body.errors).toBeUndefined();
      const id = body.data!.submitGeneration!.id;
      const webhook = await webhookFor(receiver, id);
      expect(verifySignature(SECRET, webhook)).toBe(true);
      expect(JSON.parse(webhook.body).job).toMatchObject({ id, status: "SUCCEEDED", result: { images: [{ index: 0 }] } });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(receiver.received.filter((received) => JSON.parse(received.body).job.id === id)).toHaveLength(1);
    } finally {
      await h.close();
      await redis.kill();
    }
  });
});

describe("webhook URLs refused at submission", () => {
  let strict: Harness;
  let unsigned: Harness;
  beforeAll(async () => {
    strict = await startHarness({ env: { WEBHOOK_SECRET: SECRET } });
    unsigned = await startHarness();
  });
  afterAll(async () => {
    await strict?.close();
    await unsigned?.close();
  });

  it.each([
    ["http://127.0.0.1:8080/hook", /its host 127\.0\.0\.1 is a loopback address/],
    ["http://10.0.0.1/hook", /its host 10\.0\.0\.1 is a private address/],
    ["http://169.254.169.254/latest/meta-data", /link-local address/],
    ["http://localhost/hook", /loopback name/],
    ["ftp://example.com/hook", /its scheme is ftp:/],
  ])("%s: BAD_USER_INPUT, field webhookUrl, nothing sent upstream, no job", async (url, reason) => {
    const before = strict.simulator.stats().generations;
    const { body } = await postJson<Submitted>(strict.graphqlUrl, SUBMIT, { input, webhookUrl: url });
    expect(body.data?.submitGeneration ?? null).toBeNull();
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "webhookUrl" });
    expect(body.errors?.[0]?.message).toMatch(reason);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(strict.simulator.stats().generations).toBe(before);
  });

  it("a gateway without WEBHOOK_SECRET refuses any webhookUrl with WEBHOOKS_NOT_CONFIGURED", async () => {
    const { body } = await postJson<Submitted>(unsigned.graphqlUrl, SUBMIT, { input, webhookUrl: "https://8.8.8.8/hook" });
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: "WEBHOOKS_NOT_CONFIGURED", field: "webhookUrl" });
    expect(unsigned.simulator.stats().generations).toBe(0);
  });
});
