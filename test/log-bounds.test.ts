import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CallLogRecord } from "../src/call-log/record.js";
import { GENERATE, postJson, startHarness, type Harness } from "./support/harness.js";

const TOKEN = "team-token-for-log-bounds-0001";
const MODEL = "Kwai-Kolors/Kolors";

async function lineFor(h: Harness, requestId: string): Promise<{ line: CallLogRecord; bytes: number }> {
  // The raw line, to measure it as it sits on disk.
  const lines = await h.logLines();
  const line = lines.find((l) => l.request_id === requestId);
  expect(line, `a line for ${requestId}`).toBeDefined();
  return { line: line!, bytes: Buffer.byteLength(JSON.stringify(line)) };
}

describe("what a call-log line carries of a client's strings", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ config: { auth: { tokens: [TOKEN] } } });
  });
  afterAll(async () => {
    await h.close();
  });

  it("a 1 MB prompt without a token is refused, and its line holds the prompt cut to MAX_PROMPT_LENGTH with the original length", async () => {
    const prompt = "a".repeat(1_000_000);
    const { body } = await postJson(h.graphqlUrl, GENERATE, { input: { model: MODEL, prompt } }, { "x-request-id": "huge-prompt" });
    expect(body.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    const { line, bytes } = await lineFor(h, "huge-prompt");
    expect(line.status).toBe("failed");
    expect(line.error_message).toContain("client token");
    expect(line.prompt).toBe(`${"a".repeat(4000)}…[truncated, 1000000 chars]`);
    expect(bytes).toBeLessThan(8_000);
  });

  it("a huge model name and negative prompt are cut too, and the error does not echo the model whole", async () => {
    const model = `Qwen/${"m".repeat(900_000)}`;
    const { body } = await postJson(
      h.graphqlUrl,
      GENERATE,
      { input: { model, prompt: "a harbour", negativePrompt: "n".repeat(5000) } },
      { authorization: `Bearer ${TOKEN}`, "x-request-id": "huge-model" },
    );
    const error = body.errors?.[0];
    expect(error?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.model" });
    expect(error!.message).toContain(`unknown model "Qwen/${"m".repeat(95)}…[truncated, 900005 chars]"`);
    expect(error!.message.length).toBeLessThan(2_000);
    const { line, bytes } = await lineFor(h, "huge-model");
    expect(line.model).toBe(`Qwen/${"m".repeat(251)}…[truncated, 900005 chars]`);
    expect(line.negative_prompt).toBe(`${"n".repeat(4000)}…[truncated, 5000 chars]`);
    expect(line.error_message!.length).toBeLessThan(2_100);
    expect(bytes).toBeLessThan(8_000);
  });

  it("a wrongly typed 500 KB variable, which graphql-js quotes in its message, is not echoed whole", async () => {
    const { body } = await postJson(
      h.graphqlUrl,
      GENERATE,
      { input: { model: MODEL, prompt: "a harbour", batchSize: "9".repeat(500_000) } },
      { authorization: `Bearer ${TOKEN}`, "x-request-id": "huge-variable" },
    );
    const error = body.errors?.[0];
    expect(error?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(error!.message).toMatch(/…\[truncated, \d+ chars\]$/);
    expect(error!.message.length).toBeLessThan(2_100);
    const { bytes } = await lineFor(h, "huge-variable");
    expect(bytes).toBeLessThan(8_000);
  });

  it("a prompt the gateway accepts is logged whole, whatever its script", async () => {
    const prompt = "港".repeat(4000);
    const { body } = await postJson(h.graphqlUrl, GENERATE, { input: { model: MODEL, prompt } }, { authorization: `Bearer ${TOKEN}`, "x-request-id": "cjk" });
    expect(body.errors).toBeUndefined();
    expect((await lineFor(h, "cjk")).line.prompt).toBe(prompt);
  });

  it("secrets typed into a prompt are masked in the line as the key is", async () => {
    const prompt = `use sk-FAKE-abcdefghijklmnopqrstuvwxyz-3456 and Bearer abc.def and ${TOKEN} please`;
    const { body } = await postJson(
      h.graphqlUrl,
      GENERATE,
      { input: { model: MODEL, prompt, negativePrompt: "Bearer abc.def" } },
      { authorization: `Bearer ${TOKEN}`, "x-request-id": "secrets" },
    );
    expect(body.errors).toBeUndefined();
    const { line } = await lineFor(h, "secrets");
    expect(line.prompt).toBe("use sk-F****3456 and Bearer **** and team****0001 please");
    expect(line.negative_prompt).toBe("Bearer ****");
    const raw = JSON.stringify(line);
    expect(raw).not.toContain("abcdefghijklmnopqrstuvwxyz");
    expect(raw).not.toContain("abc.def");
    expect(raw).not.toContain(TOKEN);
  });
});

describe("what the application log carries of a client's strings", () => {
  let h: Harness;
  const appLog: string[] = [];
  beforeAll(async () => {
    h = await startHarness({ appLog: { write: (line) => void appLog.push(line) } });
  });
  afterAll(async () => {
    await h.close();
  });

  it("a 5 KB URL with keys in it is logged masked and cut to 2000 characters with the original length", async () => {
    const query = `{ health { status } } # sk-FAKE-zyxwvutsrqponmlkjihgfedcba-4321 ${"ab ".repeat(1_100)}`;
    const url = `${h.graphqlUrl}?key=sk-FAKE-abcdefghijklmnopqrstuvwxyz-3456&query=${encodeURIComponent(query)}`;
    const response = await fetch(url, { headers: { "x-request-id": "long-url" } });
    await response.arrayBuffer();
    const line = appLog.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.reqId === "long-url" && l.msg === "request completed");
    expect(line).toBeDefined();
    const logged = line!.url as string;
    expect(logged).toMatch(/…\[truncated, \d{4,} chars\]$/);
    expect(logged.length).toBeLessThan(2_100);
    expect(logged).toContain("key=sk-F****3456&");
    // URL-encoded, the second key follows `%20`.
    expect(logged).toContain("%20sk-F****4321%20");
  });
});
