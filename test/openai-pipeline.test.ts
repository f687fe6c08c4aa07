import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GENERATE, postJson, startHarness, type Harness } from "./support/harness.js";

interface OpenAIError {
  error: { message: string; type: string; param: string | null; code: string };
}

async function generate(h: Harness, body: Record<string, unknown>): Promise<{ status: number; headers: Headers; body: Record<string, unknown> & Partial<OpenAIError> }> {
  const response = await fetch(`${h.url}/v1/images/generations`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> & Partial<OpenAIError> };
}

async function metric(h: Harness, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`${h.url}/metrics`)).text();
  return text
    .split("\n")
    .filter((line) => pattern.test(line))
    .reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0);
}

describe("the OpenAI face shares the one pipeline", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ config: { siliconflow: { timeoutMs: 400, maxRetries: 0 }, limits: { imagesPerMinute: { "Kwai-Kolors/Kolors": 3 }, maxInlineBytesPerResponse: 50_000 } } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it.each([
    ["a 500 from SiliconFlow", { kind: "status", status: 500 } as const, 502, "UPSTREAM_UNAVAILABLE"],
    ["a reset connection", { kind: "reset" } as const, 502, "UPSTREAM_UNAVAILABLE"],
    ["no answer within the timeout", { kind: "hang" } as const, 504, "UPSTREAM_TIMEOUT"],
  ])("%s answers $2 $3 in OpenAI's shape, logged failed", async (_name, fault, status, code) => {
    h.simulator.clearFaults();
    h.simulator.addFault({ fault, times: 1 });
    const answer = await generate(h, { model: "Qwen/Qwen-Image", prompt: "a kite" });
    expect(answer.status).toBe(status);
    expect(answer.body.error).toMatchObject({ type: "server_error", code, param: null });
    expect((await h.logLines()).at(-1)).toMatchObject({ api: "openai", status: "failed", error_code: code });
  });

  it("the SDK sees an upstream failure as its InternalServerError", async () => {
    h.simulator.clearFaults();
    h.simulator.addFault({ fault: { kind: "status", status: 502 }, times: 1 });
    const client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: "unused", maxRetries: 0 });
    const error = await client.images.generate({ model: "Qwen/Qwen-Image", prompt: "a kite" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect((error as InstanceType<typeof OpenAI.InternalServerError>).status).toBe(502);
  });

  it("SiliconFlow's 429 comes back as 429 with its Retry-After", async () => {
    h.simulator.clearFaults();
    h.simulator.addFault({ fault: { kind: "status", status: 429, headers: { "retry-after": "7" } }, times: 1 });
    const answer = await generate(h, { model: "Qwen/Qwen-Image", prompt: "a kite" });
    expect(answer.status).toBe(429);
    expect(answer.headers.get("retry-after")).toBe("7");
    expect(answer.body.error).toMatchObject({ type: "rate_limit_error", code: "UPSTREAM_RATE_LIMITED" });
  });

  it("a seeded call is cached across faces: GraphQL's repeat of an OpenAI call is not sent again", async () => {
    h.simulator.clearFaults();
    const before = h.simulator.received.length;
    const first = await generate(h, { model: "Qwen/Qwen-Image", prompt: "a cached kite", seed: 77, size: "1328x1328" });
    expect(first.status).toBe(200);
    expect(first.body.cache_hit).toBe(false);
    const again = await generate(h, { model: "Qwen/Qwen-Image", prompt: "a cached kite", seed: 77, size: "1328x1328" });
    expect(again.body.cache_hit).toBe(true);
    const graphql = await postJson<{ generateImages: { images: Array<{ url: string }> } }>(h.graphqlUrl, GENERATE, {
      input: { model: "Qwen/Qwen-Image", prompt: "a cached kite", seed: 77, imageSize: "1328x1328" },
    });
    expect(graphql.body.errors).toBeUndefined();
    expect(h.simulator.received.length).toBe(before + 1);
    const urls = (first.body.data as Array<{ url: string }>).map((d) => d.url);
    expect(graphql.body.data!.generateImages.images.map((i) => i.url)).toEqual(urls);
    expect((await h.logLines()).slice(-3).map((line) => [line.api, line.cache_hit])).toEqual([
      ["openai", false],
      ["openai", true],
      ["graphql", true],
    ]);
  });

  it("the images-per-minute budget counts this face: past it, 429 with Retry-After and nothing upstream", async () => {
    const ok = await generate(h, { model: "Kwai-Kolors/Kolors", prompt: "two", n: 2 });
    expect(ok.status).toBe(200);
    const before = h.simulator.received.length;
    const spent = await generate(h, { model: "Kwai-Kolors/Kolors", prompt: "two more", n: 2 });
    expect(spent.status).toBe(429);
    expect(Number(spent.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(spent.body.error).toMatchObject({ type: "rate_limit_error", code: "RATE_LIMITED" });
    expect(h.simulator.received.length).toBe(before);
    expect((await h.logLines()).at(-1)).toMatchObject({ api: "openai", status: "failed", error_code: "RATE_LIMITED" });
  });

  it("b64_json past the inline budget: 413 RESPONSE_TOO_LARGE naming response_format; the call ran and is logged success", async () => {
    const answer = await generate(h, { model: "Tongyi-MAI/Z-Image-Turbo", prompt: "a big kite", response_format: "b64_json" });
    expect(answer.status).toBe(413);
    expect(answer.body.error).toMatchObject({ code: "RESPONSE_TOO_LARGE", param: "response_format" });
    expect((await h.logLines()).at(-1)).toMatchObject({ api: "openai", status: "success" });
  });

  it("its calls are in the metrics", async () => {
    const pattern = /^siliconflow_gateway_generations_total\{.*model="Tongyi-MAI\/Z-Image-Turbo".*status="success"/;
    const before = await metric(h, pattern);
    expect((await generate(h, { model: "Tongyi-MAI/Z-Image-Turbo", prompt: "a kite" })).status).toBe(200);
    expect(await metric(h, pattern)).toBe(before + 1);
  });
});
