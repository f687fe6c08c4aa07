import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson, startHarness, type Harness } from "./support/harness.js";

describe("operation shape limits", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ config: { limits: { maxQueryDepth: 3, maxQueryComplexity: 40, maxGenerationsPerRequest: 2 } } });
  });
  afterAll(async () => {
    await h.close();
  });

  it("refuses a query deeper than the limit", async () => {
    const { body } = await postJson(h.graphqlUrl, `{ health { models { steps { min } } } }`);
    expect(body.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(body.errors?.[0]?.message).toMatch(/4 levels deep; at most 3/);
  });

  it("refuses a query more complex than the limit", async () => {
    const fields = Array.from({ length: 45 }, (_, i) => `m${i}: health { status }`).join(" ");
    const { body } = await postJson(h.graphqlUrl, `{ ${fields} }`);
    expect(body.errors?.[0]?.message).toMatch(/complexity/);
  });

  it("a document too large for the complexity walk is refused, not let through unmeasured", async () => {
    const fields = Array.from({ length: 6000 }, (_, i) => `m${i}: health { status }`).join(" ");
    const { status, body } = await postJson(h.graphqlUrl, `{ ${fields} }`);
    expect(status).toBe(400);
    expect(body.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(body.errors?.[0]?.message).toMatch(/more than 10000 fields/);
  });

  it.each([
    ["query", "Query", "health { status }"],
    ["mutation", "Mutation", `generateImages(input: {model: "Qwen/Qwen-Image", prompt: "x"}) { callId }`],
  ])("fragments spread 2 ** 30 times over (a %s) are measured in linear time and refused", async (operation, type, leaf) => {
    const levels = 30;
    const fragments = Array.from({ length: levels }, (_, i) => `fragment F${i} on ${type} { ...F${i + 1} ...F${i + 1} }`).join("\n");
    const document = `${operation} Spread { ...F0 }\n${fragments}\nfragment F${levels} on ${type} { ${leaf} }`;
    const before = h.simulator.received.length;
    const { status, body } = await postJson(h.graphqlUrl, document);
    expect(status).toBe(400);
    expect(body.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(h.simulator.received.length).toBe(before);
  }, 10_000);

  it("caps generateImages per operation, before any upstream call, logging each refused call", async () => {
    const before = h.simulator.received.length;
    const lines = (await h.logLines()).length;
    const query = `mutation { a: generateImages(input: {model: "Qwen/Qwen-Image", prompt: "1"}) { callId }
      b: generateImages(input: {model: "Qwen/Qwen-Image", prompt: "2"}) { callId }
      c: generateImages(input: {model: "Qwen/Qwen-Image", prompt: "3"}) { callId } }`;
    const { body } = await postJson(h.graphqlUrl, query);
    expect(body.errors?.[0]?.message).toMatch(/at most 2 generateImages/);
    expect(h.simulator.received.length).toBe(before);
    expect((await h.logLines()).slice(lines).map((l) => l.status)).toEqual(["failed", "failed", "failed"]);
  });

  const aliased = (count: number) =>
    Array.from({ length: count }, (_, i) => `g${i}: generateImages(input: {model: "Qwen/Qwen-Image", prompt: "${i}"}) { callId }`).join("\n");

  it.each([
    ["an inline fragment", `mutation Many { ... on Mutation { ${aliased(60)} } }`],
    ["a named fragment", `mutation Many { ...Calls } fragment Calls on Mutation { ${aliased(60)} }`],
    ["nested fragments and inline fragments", `mutation Many { ...A ... on Mutation { ${aliased(30)} } } fragment A on Mutation { ... on Mutation { ...B } } fragment B on Mutation { ${aliased(60).replace(/\bg(\d+):/g, "h$1:")} }`],
  ])("counts generateImages reached through %s: 60 aliases are refused before any upstream call, each logged", async (_, query) => {
    const before = h.simulator.received.length;
    const lines = (await h.logLines()).length;
    const { body } = await postJson(h.graphqlUrl, query);
    expect(body.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(body.errors?.[0]?.message).toMatch(/at most 2 generateImages calls, this one has (60|90)/);
    expect(h.simulator.received.length).toBe(before);
    const logged = (await h.logLines()).slice(lines);
    expect(logged.length).toBeGreaterThanOrEqual(60);
    expect(new Set(logged.map((l) => `${l.status} ${l.error_code} ${l.operation_name}`))).toEqual(new Set(["failed BAD_USER_INPUT Many"]));
  });

  it.each([
    ["directly", `mutation Viaget { generateImages(input: {model: "Qwen/Qwen-Image", prompt: "x"}) { callId } }`, 1],
    ["through fragments", `mutation Viaget { ... on Mutation { a: generateImages(input: {model: "Qwen/Qwen-Image", prompt: "x"}) { callId } } ...B } fragment B on Mutation { b: generateImages(input: {model: "Qwen/Qwen-Image", prompt: "y"}) { callId } }`, 2],
  ])("a mutation sent by GET (%s) is refused 405, with or without a CSRF header, and each of its calls gets one failed line", async (_, query, calls) => {
    for (const headers of [{ "apollo-require-preflight": "true" }, {}, { "x-apollo-operation-name": "Viaget" }] as Array<Record<string, string>>) {
      const before = h.simulator.received.length;
      const lines = (await h.logLines()).length;
      const response = await fetch(`${h.graphqlUrl}?query=${encodeURIComponent(query)}`, { headers });
      expect(response.status).toBe(405);
      expect(response.headers.get("allow")).toBe("POST");
      const body = (await response.json()) as { errors?: Array<{ extensions?: { code?: string } }> };
      expect(body.errors?.[0]?.extensions?.code).toBe("BAD_REQUEST");
      expect(h.simulator.received.length).toBe(before);
      const logged = (await h.logLines()).slice(lines);
      expect(logged.map((l) => [l.status, l.error_code, l.operation_name, l.error_message])).toEqual(
        Array.from({ length: calls }, () => ["failed", "BAD_REQUEST", "Viaget", expect.stringMatching(/GET requests only support query operations/)]),
      );
    }
    // Queries by GET are untouched.
    const health = await fetch(`${h.graphqlUrl}?query=${encodeURIComponent("query NoMutationHere { health { status } }")}`, { headers: { "apollo-require-preflight": "true" } });
    expect(health.status).toBe(200);
  });

  it("fields merged under one response key are one call, and @skip leaves a call out", async () => {
    const args = `(input: {model: "Qwen/Qwen-Image", prompt: "same", seed: 7})`;
    const call = `generateImages${args} { callId }`;
    const { body } = await postJson<{ a: { callId: string }; b: { callId: string } }>(
      h.graphqlUrl,
      `mutation($no: Boolean!) { a: ${call} ... on Mutation { a: ${call} b: ${call} } c: generateImages${args} @skip(if: $no) { callId } }`,
      { no: true },
    );
    expect(body.errors).toBeUndefined();
    expect(body.data?.a.callId).toEqual(expect.any(String));
  });
});

describe("inline image data (dataUrl) is bounded per response", () => {
  let h: Harness;
  // A loose complexity limit, as an operator might set: the byte cap alone must then hold.
  const loose = { limits: { maxQueryComplexity: 1_000_000 } };
  const input = { model: "Kwai-Kolors/Kolors", prompt: "a lighthouse at dusk", imageSize: "1024x1024", batchSize: 4, seed: 4242 };
  const inlineAliases = (count: number) => Array.from({ length: count }, (_, i) => `d${i}: dataUrl`).join(" ");
  const withInline = (count: number) =>
    `mutation Inline($input: GenerateImagesInput!) { generateImages(input: $input) { callId cacheHit images { bytes ${inlineAliases(count)} } } }`;
  interface Inline {
    generateImages: { cacheHit: boolean; images: Array<Record<string, string | number>> };
  }

  beforeAll(async () => {
    h = await startHarness({ config: loose });
  });
  afterAll(async () => {
    await h.close();
  });

  it("a normal dataUrl still works, and the result is then cached", async () => {
    const { body } = await postJson<Inline>(h.graphqlUrl, withInline(1), { input });
    expect(body.errors).toBeUndefined();
    const images = body.data!.generateImages.images;
    expect(images).toHaveLength(4);
    for (const image of images) expect(Buffer.from(String(image.d0).split(",")[1]!, "base64").length).toBe(image.bytes);
    const again = await postJson<Inline>(h.graphqlUrl, withInline(1), { input });
    expect(again.body.data?.generateImages.cacheHit).toBe(true);
  });

  it("490 dataUrl aliases on a cached 4-image result: RESPONSE_TOO_LARGE, and memory stays bounded", async () => {
    const first = await postJson<Inline>(h.graphqlUrl, withInline(1), { input });
    const imageBytes = first.body.data!.generateImages.images.map((i) => Number(i.bytes));
    // Uncapped, each request would build this much base64; it must be far over the 32 MiB default.
    const uncapped = (490 * imageBytes.reduce((a, b) => a + b, 0) * 4) / 3;
    expect(uncapped).toBeGreaterThan(4 * 32 * 1024 * 1024);

    const upstreamBefore = h.simulator.received.length;
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    try {
      const answers = await Promise.all(Array.from({ length: 4 }, () => postJson<Inline>(h.graphqlUrl, withInline(490), { input })));
      for (const { status, body } of answers) {
        expect(status).toBe(200);
        expect(body.errors?.[0]?.extensions).toMatchObject({ code: "RESPONSE_TOO_LARGE", field: "dataUrl" });
        expect(body.errors?.[0]?.message).toMatch(/more than 33554432 bytes of inline images/);
        // One error where the budget ran out, not one per alias.
        expect(body.errors!.length).toBeLessThan(490 * 4);
      }
    } finally {
      clearInterval(sampler);
    }
    expect(h.simulator.received.length).toBe(upstreamBefore);
    const grownMb = (peak - baseline) / 2 ** 20;
    console.info(`inline cap: rss grew by ${grownMb.toFixed(0)} MB for 4 parallel requests (${(uncapped / 2 ** 20).toFixed(0)} MB each uncapped)`);
    expect(grownMb).toBeLessThan(600);
  }, 60_000);

  it("the default complexity limit refuses hundreds of dataUrl aliases before the paid call", async () => {
    const strict = await startHarness();
    try {
      const before = strict.simulator.received.length;
      const { status, body } = await postJson(strict.graphqlUrl, withInline(490), { input });
      expect(status).toBe(400);
      expect(body.errors?.[0]?.message).toMatch(/complexity is \d+; at most 1000/);
      expect(strict.simulator.received.length).toBe(before);
      expect((await postJson(strict.graphqlUrl, withInline(4), { input })).body.errors).toBeUndefined();
    } finally {
      await strict.close();
    }
  });

  it("MAX_INLINE_BYTES_PER_RESPONSE sets the cap", async () => {
    const small = await startHarness({ config: loose, env: { MAX_INLINE_BYTES_PER_RESPONSE: "1000" } });
    try {
      const { body } = await postJson(small.graphqlUrl, withInline(1), { input });
      expect(body.errors?.[0]?.extensions?.code).toBe("RESPONSE_TOO_LARGE");
      expect(body.data).toBeNull();
      // The paid call itself went through and is logged as such; only its inline data was refused.
      expect((await small.logLines()).at(-1)).toMatchObject({ status: "success" });
    } finally {
      await small.close();
    }
  });
});
