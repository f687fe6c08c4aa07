import { execFile } from "node:child_process";
import { readdir } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { postJson, startHarness, TEST_API_KEY, type Harness } from "./support/harness.js";
import { pollJob } from "./support/jobs.js";
import { REDIS_SERVER, redisAvailable, startRedis, type TestRedis } from "./support/redis.js";
import { waitFor } from "./support/wait.js";
import { startWebhookReceiver, type WebhookReceiver } from "./support/webhook-receiver.js";

const run = promisify(execFile);
const REDIS_CLI = path.join(path.dirname(REDIS_SERVER), "redis-cli");
const SECRET = "whsec-secrets-test-0123456789-SECRET";
const TEXT = { model: "Kwai-Kolors/Kolors", prompt: "a lighthouse at dusk", imageSize: "768x1024" };
const SUBMIT = /* GraphQL */ `
  mutation Submit($input: GenerateImagesInput!, $webhookUrl: String, $key: String) {
    submitGeneration(input: $input, webhookUrl: $webhookUrl, idempotencyKey: $key) { id status }
  }
`;

/** Every key of the Redis and its value, as text, whatever its type (BullMQ keeps hashes, lists, sorted sets, streams). */
async function redisDump(port: number): Promise<string> {
  const cli = async (...args: string[]) => (await run(REDIS_CLI, ["-p", String(port), "--no-raw", ...args])).stdout;
  const keys = (await run(REDIS_CLI, ["-p", String(port), "--scan"])).stdout.split("\n").filter(Boolean);
  const parts: string[] = [];
  for (const key of keys) {
    const type = (await cli("TYPE", key)).trim();
    const read: Record<string, string[]> = {
      string: ["GET", key],
      hash: ["HGETALL", key],
      list: ["LRANGE", key, "0", "-1"],
      set: ["SMEMBERS", key],
      zset: ["ZRANGE", key, "0", "-1", "WITHSCORES"],
      stream: ["XRANGE", key, "-", "+"],
    };
    parts.push(`${key} (${type}): ${read[type] ? await cli(...read[type]) : ""}`);
  }
  return parts.join("\n");
}

describe.skipIf(!redisAvailable)("the SiliconFlow key and WEBHOOK_SECRET stay out of everything a job leaves behind", () => {
  let redis: TestRedis | undefined;
  let h: Harness | undefined;
  let receiver: WebhookReceiver | undefined;
  afterEach(async () => {
    await h?.close();
    await receiver?.close();
    await redis?.kill();
  });

  it("neither is in any Redis key or value, a webhook body, a job's error, the call log or the application log, even when SiliconFlow echoes the key", async () => {
    redis = await startRedis();
    receiver = await startWebhookReceiver();
    const appLog: string[] = [];
    h = await startHarness({
      config: { redisUrl: redis.url, shutdownTimeoutMs: 1_000, auth: { tokens: ["token-aaaa-0001"] } },
      env: { WEBHOOK_SECRET: SECRET, WEBHOOK_ALLOW_PRIVATE: "true", WEBHOOK_BACKOFF_MS: "50" },
      appLog: { write: (line) => void appLog.push(line) },
    });
    const auth = { authorization: "Bearer token-aaaa-0001" };
    const webhookUrl = `${receiver.url}/hooks/done`;
    // An upstream that answers a refusal with the key it was sent, as some APIs' error messages do.
    h.simulator.addFault({
      fault: { kind: "status", status: 400, body: JSON.stringify({ code: 20015, message: `invalid request for key ${TEST_API_KEY} (Bearer ${TEST_API_KEY})`, data: null }) },
      times: 1,
    });
    const ids: string[] = [];
    for (const key of ["order-1", "order-2"]) {
      const { body } = await postJson<{ submitGeneration: { id: string } }>(h.graphqlUrl, SUBMIT, { input: TEXT, webhookUrl, key }, auth);
      expect(body.errors).toBeUndefined();
      ids.push(body.data!.submitGeneration.id);
    }
    const ended = await Promise.all(ids.map((id) => pollJob(h!.graphqlUrl, id, ["SUCCEEDED", "FAILED"], 20_000, auth)));
    expect(ended.map((job) => job.status).sort()).toEqual(["FAILED", "SUCCEEDED"]);
    await waitFor(() => Promise.resolve(receiver!.received.length >= 2 ? true : undefined), 10_000);

    const dump = await redisDump(redis.port);
    // The dump does hold the jobs: their records, and BullMQ's own keys (the webhooks' deliveries).
    for (const id of ids) expect(dump).toContain(`gw-job:${id}`);
    expect(dump).toContain("bull:");
    // The echo reached the job's error, masked.
    expect(ended.find((job) => job.status === "FAILED")!.error!.message).toMatch(/invalid request for key/);
    const lines = JSON.stringify(await h.logLines());
    const dataFiles = await readdir(h.dataDir, { recursive: true });
    const everything = {
      redis: dump,
      webhooks: receiver.received.map((webhook) => webhook.body).join("\n"),
      jobErrors: JSON.stringify(ended.map((job) => job.error)),
      callLog: lines,
      appLog: appLog.join(""),
      dataFileNames: dataFiles.join("\n"),
    };
    for (const [where, text] of Object.entries(everything)) {
      for (const secret of [TEST_API_KEY, SECRET, TEST_API_KEY.slice(8), SECRET.slice(8)]) {
        expect(text.includes(secret), `${where} holds ${secret.slice(0, 12)}...`).toBe(false);
      }
    }
  });
});
