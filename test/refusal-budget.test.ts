import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CallLogRecord } from "../src/call-log/record.js";
import { GENERATE, imageSlots, postJson, postMultipart, startHarness, type Harness } from "./support/harness.js";
import { solidPng } from "./support/images.js";

const TOKEN = "team-token-for-refusals-0001";
const MODEL = "Kwai-Kolors/Kolors";

async function lineFor(h: Harness, requestId: string): Promise<{ line: CallLogRecord; bytes: number }> {
  const line = (await h.logLines()).find((l) => l.request_id === requestId);
  expect(line, `a line for ${requestId}`).toBeDefined();
  return { line: line!, bytes: Buffer.byteLength(JSON.stringify(line)) };
}

describe("the refusal budget per client address", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ config: { auth: { tokens: [TOKEN] } }, env: { RATE_LIMIT_REFUSALS_PER_MINUTE: "3" } });
  });
  afterAll(async () => {
    await h.close();
  });

  it("after N refusals from one address the next call is RATE_LIMITED 429 with Retry-After, logged in a small line", async () => {
    const prompt = "p".repeat(1_000_000);
    for (let i = 0; i < 3; i += 1) {
      const { body } = await postJson(h.graphqlUrl, GENERATE, { input: { model: MODEL, prompt } }, { "x-request-id": `refused-${i}` });
      expect(body.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    }
    const limited = await postJson(h.graphqlUrl, GENERATE, { input: { model: MODEL, prompt } }, { "x-request-id": "limited" });
    expect(limited.status).toBe(429);
    expect(limited.body.errors?.[0]?.extensions).toMatchObject({ code: "RATE_LIMITED" });
    const retryAfter = Number(limited.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(limited.body.errors?.[0]?.extensions?.retryAfterSeconds).toBe(retryAfter);

    const { line, bytes } = await lineFor(h, "limited");
    expect(line).toMatchObject({ status: "failed", error_code: "RATE_LIMITED", prompt: null });
    expect(bytes).toBeLessThan(2_000);

    // Uploads are refused before their body is parsed, and a token holder is counted apart.
    const upload = await postMultipart(h.graphqlUrl, GENERATE, { input: { model: "Qwen/Qwen-Image-Edit", prompt: "x", images: imageSlots(1) } }, [
      { path: "variables.input.images.0", data: await solidPng(8, 8, "red") },
    ]);
    expect(upload.status).toBe(429);
    expect(upload.headers.get("retry-after")).toBe(String(retryAfter));
    const withToken = await postJson(h.graphqlUrl, GENERATE, { input: { model: MODEL, prompt: "a harbour" } }, { authorization: `Bearer ${TOKEN}` });
    expect(withToken.body.errors).toBeUndefined();
  });
});

describe("the refusal budget counts requests", () => {
  it("one request whose many calls are all refused counts once", async () => {
    const h = await startHarness({ env: { RATE_LIMIT_REFUSALS_PER_MINUTE: "2" } });
    try {
      const aliases = Array.from({ length: 10 }, (_, i) => `g${i}: generateImages(input: $input) { callId }`).join(" ");
      const many = await postJson(h.graphqlUrl, `mutation M($input: GenerateImagesInput!) { ${aliases} }`, { input: { model: MODEL, prompt: "x" } });
      expect(many.body.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
      expect((await h.logLines()).filter((l) => l.error_code === "BAD_USER_INPUT")).toHaveLength(10);
      const next = await postJson(h.graphqlUrl, GENERATE, { input: { model: MODEL, prompt: "a harbour" } });
      expect(next.status).toBe(200);
      expect(next.body.errors).toBeUndefined();
    } finally {
      await h.close();
    }
  });
});

describe("the per-client call limit before the token check", () => {
  it("callers without a token are counted by address, so RATE_LIMIT_CALLS bounds them too", async () => {
    const h = await startHarness({ config: { auth: { tokens: [TOKEN] } }, env: { RATE_LIMIT_CALLS: "2", RATE_LIMIT_REFUSALS_PER_MINUTE: "0" } });
    try {
      const codes: string[] = [];
      for (let i = 0; i < 3; i += 1) {
        const { body } = await postJson(h.graphqlUrl, GENERATE, { input: { model: MODEL, prompt: "a harbour" } });
        codes.push(String(body.errors?.[0]?.extensions?.code));
      }
      expect(codes).toEqual(["UNAUTHENTICATED", "UNAUTHENTICATED", "RATE_LIMITED"]);
    } finally {
      await h.close();
    }
  });
});
