import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { connect, createServer } from "node:net";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GENERATE, TEST_API_KEY, imageSlots, multipartBody, postJson, postMultipart, startHarness, type Harness } from "./support/harness.js";
import { noisyPng, solidPng } from "./support/images.js";

interface Payload {
  generateImages: { callId: string; images: Array<{ url: string }> };
}
const textToImage = { model: "Qwen/Qwen-Image", prompt: "a kite" };

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("bad input never crashes, hangs or leaks", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ config: { uploads: { maxBytes: 300_000, maxInputPixels: 4_000_000 } } });
  });
  afterAll(async () => {
    await h.close();
  });

  const editWith = (files: Array<{ data: Buffer; path?: string }>, slots = files.length) =>
    postMultipart<Payload>(
      h.graphqlUrl,
      GENERATE,
      { input: { model: "Qwen/Qwen-Image-Edit-2509", prompt: "edit", images: imageSlots(slots) } },
      files.map((f, i) => ({ path: f.path ?? `variables.input.images.${i}`, data: f.data })),
    );

  it("a truncated JPEG", async () => {
    const jpeg = await sharp({ create: { width: 300, height: 200, channels: 3, background: "#000", noise: { type: "gaussian", mean: 128, sigma: 30 } } })
      .jpeg()
      .toBuffer();
    const { body } = await editWith([{ data: jpeg.subarray(0, jpeg.length >> 1) }]);
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.images[0]" });
  });

  it("a decompression bomb (few bytes, many pixels)", async () => {
    const bomb = await sharp({ create: { width: 5000, height: 5000, channels: 3, background: "#fff" } }).png({ compressionLevel: 9 }).toBuffer();
    expect(bomb.length).toBeLessThan(300_000);
    const { body } = await editWith([{ data: bomb }]);
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.images[0]" });
    expect(body.errors?.[0]?.message).toMatch(/4000000 pixels/);
  });

  it("too many files: PAYLOAD_TOO_LARGE as GraphQL JSON, with a log line", async () => {
    const png = await solidPng(8, 8, "#123");
    const before = (await h.logLines()).length;
    const { status, body } = await editWith([0, 1, 2, 3].map(() => ({ data: png })));
    expect(status).toBe(413);
    expect(body.errors?.[0]?.extensions?.code).toBe("PAYLOAD_TOO_LARGE");
    const lines = await h.logLines();
    expect(lines).toHaveLength(before + 1);
    expect(lines.at(-1)).toMatchObject({ status: "failed", error_code: "PAYLOAD_TOO_LARGE" });
  });

  it("a request whose declared size is over the limit is refused before parsing", async () => {
    const response = await fetch(h.graphqlUrl, {
      method: "POST",
      headers: { "content-type": "multipart/form-data; boundary=x", "apollo-require-preflight": "1", "content-length": String(50_000_000) },
      body: "--x--\r\n",
      duplex: "half",
    } as RequestInit).catch((error: unknown) => error as Error);
    // Either the server answers 413 at once, or closes the connection on the lying length: never a hang or a 500.
    if (response instanceof Response) {
      expect(response.status).toBe(413);
      expect(((await response.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code).toBe("PAYLOAD_TOO_LARGE");
    }
  });

  it("a file missing from the multipart body", async () => {
    const png = await solidPng(8, 8, "#123");
    const form = multipartBody(GENERATE, { input: { model: "Qwen/Qwen-Image-Edit-2509", prompt: "x", images: imageSlots(2) } }, [
      { path: "variables.input.images.0", data: png },
    ]);
    form.set("map", JSON.stringify({ 0: ["variables.input.images.0"], 1: ["variables.input.images.1"] }));
    const response = await fetch(h.graphqlUrl, { method: "POST", headers: { "apollo-require-preflight": "1" }, body: form });
    const body = (await response.json()) as { errors: Array<{ message: string; extensions: { code: string; field?: string } }> };
    expect(body.errors[0]!.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.images[1]" });
    expect(body.errors[0]!.message).toMatch(/missing/);
  });

  it.each([
    ["malformed JSON", "application/json", '{"query": "mutation {', 400],
    ["malformed multipart", "multipart/form-data; boundary=abc", "this is not multipart at all", 400],
    ["operations that are not JSON", "multipart/form-data; boundary=abc", '--abc\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{nope\r\n--abc--\r\n', 400],
  ])("%s gets a GraphQL JSON error", async (_name, contentType, body, status) => {
    const response = await fetch(h.graphqlUrl, { method: "POST", headers: { "content-type": contentType, "apollo-require-preflight": "1" }, body });
    expect(response.status).toBe(status);
    expect(response.headers.get("content-type")).toMatch(/application\/json/);
    const json = (await response.json()) as { errors: Array<{ message: string; extensions: { code: string } }> };
    expect(json.errors[0]!.extensions.code).toBe("BAD_USER_INPUT");
    expect(JSON.stringify(json)).not.toMatch(/\/work\/|node_modules|at .*\.js:\d+/);
  });

  it("batched HTTP requests are off", async () => {
    const response = await fetch(h.graphqlUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify([{ query: "{ health { status } }" }, { query: "{ health { status } }" }]),
    });
    expect(response.status).toBe(400);
  });

  it("an unknown path is JSON 404, not an HTML page", async () => {
    const response = await fetch(`${h.url}/wp-admin`);
    expect(response.status).toBe(404);
    expect(response.headers.get("content-type")).toMatch(/json/);
    await response.arrayBuffer();
  });
});

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

describe("upstream faults map to stable codes; only surely-unrun calls are retried", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ config: { siliconflow: { timeoutMs: 400, maxRetries: 2 } } });
  });
  afterAll(async () => {
    await h.close();
  });

  async function callWith(fault: Parameters<Harness["simulator"]["addFault"]>[0]) {
    h.simulator.clearFaults();
    h.simulator.addFault(fault);
    const before = h.simulator.received.length;
    const { body } = await postJson<Payload>(h.graphqlUrl, GENERATE, { input: textToImage });
    h.simulator.clearFaults();
    return { error: body.errors?.[0], attempts: h.simulator.received.length - before, body, line: (await h.logLines()).at(-1)! };
  }

  it("400 → UPSTREAM_BAD_REQUEST with SiliconFlow's message, sanitised", async () => {
    const { error, attempts } = await callWith({
      fault: { kind: "status", status: 400, body: JSON.stringify({ code: 20015, message: `bad value; auth Bearer ${TEST_API_KEY}; image data:image/png;base64,${"A".repeat(400)}` }) },
    });
    expect(error?.extensions?.code).toBe("UPSTREAM_BAD_REQUEST");
    expect(error?.message).toMatch(/bad value/);
    expect(error?.message).not.toContain(TEST_API_KEY);
    expect(error?.message).not.toMatch(/A{200}/);
    expect(attempts).toBe(1);
  });

  it.each([401, 403])("%i → UPSTREAM_UNAUTHORIZED, saying what to check, never the key", async (status) => {
    const { error, attempts, body } = await callWith({ fault: { kind: "status", status } });
    expect(error?.extensions?.code).toBe("UPSTREAM_UNAUTHORIZED");
    expect(error?.message).toMatch(/key.*real-name verification.*balance/);
    expect(JSON.stringify(body)).not.toContain(TEST_API_KEY);
    expect(attempts).toBe(1);
  });

  it("429 → UPSTREAM_RATE_LIMITED with retryAfterSeconds, not retried", async () => {
    const withHeader = await callWith({ fault: { kind: "status", status: 429, headers: { "retry-after": "7" } } });
    expect(withHeader.error?.extensions).toMatchObject({ code: "UPSTREAM_RATE_LIMITED", retryAfterSeconds: 7 });
    expect(withHeader.attempts).toBe(1);
    const withoutHeader = await callWith({ fault: { kind: "status", status: 429 } });
    expect(withoutHeader.error?.extensions?.retryAfterSeconds).toBeGreaterThan(0);
  });

  it.each([
    ["500", { kind: "status", status: 500 } as const],
    ["502", { kind: "status", status: 502 } as const],
    ["a garbage body", { kind: "malformed" } as const],
    ["a reset connection", { kind: "reset" } as const],
  ])("%s → UPSTREAM_UNAVAILABLE, never re-sent (it may have run)", async (_name, fault) => {
    const { error, attempts, line } = await callWith({ fault });
    expect(error?.extensions?.code).toBe("UPSTREAM_UNAVAILABLE");
    expect(attempts).toBe(1);
    expect(line).toMatchObject({ status: "failed", error_code: "UPSTREAM_UNAVAILABLE", upstream_attempts: 1 });
  });

  it("no answer in SILICONFLOW_TIMEOUT_MS → UPSTREAM_TIMEOUT, never re-sent", async () => {
    const { error, attempts } = await callWith({ fault: { kind: "hang" } });
    expect(error?.extensions?.code).toBe("UPSTREAM_TIMEOUT");
    expect(attempts).toBe(1);
  });

  it("503 (overloaded: it did not run) is retried with backoff, at most SILICONFLOW_MAX_RETRIES times", async () => {
    const recovered = await callWith({ fault: { kind: "status", status: 503 }, times: 2 });
    expect(recovered.error).toBeUndefined();
    expect(recovered.attempts).toBe(3);
    expect(recovered.line).toMatchObject({ status: "success", upstream_attempts: 3 });
    const gaveUp = await callWith({ fault: { kind: "status", status: 503 } });
    expect(gaveUp.error?.extensions?.code).toBe("UPSTREAM_UNAVAILABLE");
    expect(gaveUp.attempts).toBe(3);
  });

  it("an output that cannot be downloaded fails the call; one failed GET is retried", async () => {
    const once = await callWith({ fault: { kind: "status", status: 500 }, target: "download", times: 1 });
    expect(once.error).toBeUndefined();
    const always = await callWith({ fault: { kind: "status", status: 500 }, target: "download" });
    expect(always.error?.extensions?.code).toBe("UPSTREAM_UNAVAILABLE");
    expect(always.error?.message).toMatch(/could not be downloaded/);
  });
});

describe("connection refused is retried, then UPSTREAM_UNAVAILABLE", () => {
  it("retries a refused connection (the call surely did not run)", async () => {
    const port = await new Promise<number>((resolve) => {
      const server = createServer();
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const h = await startHarness({ config: { siliconflow: { baseUrl: `http://127.0.0.1:${port}/v1`, maxRetries: 2 } } });
    try {
      const { body } = await postJson(h.graphqlUrl, GENERATE, { input: textToImage });
      expect(body.errors?.[0]?.extensions?.code).toBe("UPSTREAM_UNAVAILABLE");
      expect(body.errors?.[0]?.message).toMatch(/refused/);
      expect((await h.logLines()).at(-1)).toMatchObject({ status: "failed", upstream_attempts: 3 });
    } finally {
      await h.close();
    }
  });
});

describe("guards", () => {
  it("bounds upstream concurrency with a bounded queue: full → RATE_LIMITED", async () => {
    const h = await startHarness({ config: { siliconflow: { maxConcurrency: 1, maxQueue: 1 } }, simulator: { latencyMs: 400 } });
    try {
      const results = await Promise.all([0, 1, 2, 3].map((i) => postJson(h.graphqlUrl, GENERATE, { input: { ...textToImage, seed: i } })));
      const codes = results.map((r) => r.body.errors?.[0]?.extensions?.code ?? "OK").sort();
      expect(codes).toEqual(["OK", "OK", "RATE_LIMITED", "RATE_LIMITED"]);
      const limited = results.find((r) => r.body.errors)!.body.errors![0]!;
      expect(limited.extensions?.retryAfterSeconds).toBeGreaterThan(0);
      expect(h.simulator.received).toHaveLength(2);
    } finally {
      await h.close();
    }
  });

  it("refuses a call that waited too long for a slot", async () => {
    const h = await startHarness({ config: { siliconflow: { maxConcurrency: 1, maxQueue: 5, queueTimeoutMs: 100 } }, simulator: { latencyMs: 600 } });
    try {
      const results = await Promise.all([0, 1].map((i) => postJson(h.graphqlUrl, GENERATE, { input: { ...textToImage, seed: i } })));
      const refused = results.find((r) => r.body.errors)!;
      expect(refused.body.errors![0]!.extensions?.code).toBe("RATE_LIMITED");
      expect(refused.body.errors![0]!.message).toMatch(/waited 100 ms/);
    } finally {
      await h.close();
    }
  });

  it("an images-per-minute budget per model refuses before spending", async () => {
    const h = await startHarness({ config: { limits: { imagesPerMinute: { "Kwai-Kolors/Kolors": 3 } } } });
    try {
      const first = await postJson(h.graphqlUrl, GENERATE, { input: { model: "Kwai-Kolors/Kolors", prompt: "x", batchSize: 2 } });
      expect(first.body.errors).toBeUndefined();
      const before = h.simulator.received.length;
      const second = await postJson(h.graphqlUrl, GENERATE, { input: { model: "Kwai-Kolors/Kolors", prompt: "x", batchSize: 2 } });
      expect(second.body.errors?.[0]?.extensions).toMatchObject({ code: "RATE_LIMITED" });
      expect(second.body.errors?.[0]?.extensions?.retryAfterSeconds).toBeGreaterThan(0);
      expect(h.simulator.received.length).toBe(before);
      const other = await postJson(h.graphqlUrl, GENERATE, { input: textToImage });
      expect(other.body.errors).toBeUndefined();
    } finally {
      await h.close();
    }
  });

  it("per-client limits count by token; defaults refuse no ordinary burst", async () => {
    const h = await startHarness({ config: { auth: { tokens: ["alpha-token-123", "beta-token-456"] }, rateLimit: { callsPerWindow: 2, windowSeconds: 60 } } });
    try {
      const as = (token: string) => ({ authorization: `Bearer ${token}` });
      const alpha = await Promise.all([0, 1, 2].map(() => postJson(h.graphqlUrl, GENERATE, { input: textToImage }, as("alpha-token-123"))));
      expect(alpha.map((r) => r.body.errors?.[0]?.extensions?.code ?? "OK")).toEqual(expect.arrayContaining(["OK", "OK", "RATE_LIMITED"]));
      const beta = await postJson(h.graphqlUrl, GENERATE, { input: textToImage }, as("beta-token-456"));
      expect(beta.body.errors).toBeUndefined();
    } finally {
      await h.close();
    }
    const defaults = await startHarness();
    try {
      const burst = await Promise.all(Array.from({ length: 40 }, (_, i) => postJson(defaults.graphqlUrl, GENERATE, { input: { ...textToImage, seed: i } })));
      expect(burst.filter((r) => r.body.errors)).toHaveLength(0);
    } finally {
      await defaults.close();
    }
  });
});

describe("gateway access", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ config: { auth: { tokens: ["team-token-0001"] } } });
  });
  afterAll(async () => {
    await h.close();
  });

  it("generateImages needs a client token; health and models stay open", async () => {
    const none = await postJson(h.graphqlUrl, GENERATE, { input: textToImage });
    expect(none.body.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    const wrong = await postJson(h.graphqlUrl, GENERATE, { input: textToImage }, { authorization: "Bearer team-token-0002" });
    expect(wrong.body.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    expect((await h.logLines()).at(-1)).toMatchObject({ status: "failed", error_code: "UNAUTHENTICATED" });
    const right = await postJson(h.graphqlUrl, GENERATE, { input: textToImage }, { authorization: "Bearer team-token-0001" });
    expect(right.body.errors).toBeUndefined();
    const health = await postJson(h.graphqlUrl, `{ health { status } models { id } }`);
    expect(health.body.errors).toBeUndefined();
  });

  it("queries can be protected too", async () => {
    const p = await startHarness({ config: { auth: { tokens: ["team-token-0001"], protectQueries: true } } });
    try {
      for (const query of [`{ models { id } }`, `{ health { status } }`, `{ model(id: "Qwen/Qwen-Image") { id } }`]) {
        const open = await postJson(p.graphqlUrl, query);
        // Refused as a whole before anything runs, as a GraphQL error: 200, no data, the code in the body.
        expect(open.status, query).toBe(200);
        expect(open.body.data, query).toBeUndefined();
        expect(open.body.errors?.[0]?.extensions?.code, query).toBe("UNAUTHENTICATED");
        const wrong = await postJson(p.graphqlUrl, query, {}, { authorization: "Bearer team-token-0002" });
        expect(wrong.body.errors?.[0]?.extensions?.code, query).toBe("UNAUTHENTICATED");
        const withToken = await postJson(p.graphqlUrl, query, {}, { authorization: "Bearer team-token-0001" });
        expect(withToken.body.errors, query).toBeUndefined();
      }
      // The mutation keeps its own check, with its failed call logged.
      const generate = await postJson(p.graphqlUrl, GENERATE, { input: textToImage });
      expect(generate.body.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
      expect((await p.logLines()).at(-1)).toMatchObject({ status: "failed", error_code: "UNAUTHENTICATED" });
    } finally {
      await p.close();
    }
  });

  it("a caller may bring their own SiliconFlow key when allowed; it is masked in the log", async () => {
    const own = "sk-client-own-key-0123456789abcdef";
    const b = await startHarness({ config: { auth: { allowClientApiKey: true } }, simulator: { apiKey: undefined } });
    try {
      const { body } = await postJson(b.graphqlUrl, GENERATE, { input: textToImage }, { "x-siliconflow-api-key": own });
      expect(body.errors).toBeUndefined();
      expect(b.simulator.received.at(-1)!.headers.authorization).toBe(`Bearer ${own}`);
      const line = (await b.logLines()).at(-1)!;
      expect(line.api_key).toBe("sk-c****cdef");
      expect(JSON.stringify(line)).not.toContain(own);
    } finally {
      await b.close();
    }
  });
});

describe("browsers and production", () => {
  it("CORS follows the allowlist", async () => {
    const h = await startHarness({ config: { corsOrigins: ["https://app.example"] } });
    try {
      const preflight = (origin: string) =>
        fetch(h.graphqlUrl, { method: "OPTIONS", headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type" } });
      const allowed = await preflight("https://app.example");
      expect(allowed.headers.get("access-control-allow-origin")).toBe("https://app.example");
      const refused = await preflight("https://evil.example");
      expect(refused.headers.get("access-control-allow-origin")).toBeNull();
    } finally {
      await h.close();
    }
  });

  it("production turns introspection off unless enabled", async () => {
    const prod = await startHarness({ config: { production: true } });
    try {
      const { body } = await postJson(prod.graphqlUrl, `{ __schema { queryType { name } } }`);
      expect(body.errors?.[0]?.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
    } finally {
      await prod.close();
    }
    const enabled = await startHarness({ config: { production: true, introspection: true } });
    try {
      const { body } = await postJson(enabled.graphqlUrl, `{ __schema { queryType { name } } }`);
      expect(body.errors).toBeUndefined();
    } finally {
      await enabled.close();
    }
  });
});

describe("a client gone mid-call", () => {
  it("the paid call still completes: output stored, line written, nothing crashes", async () => {
    const h = await startHarness({ simulator: { latencyMs: 500 } });
    try {
      const controller = new AbortController();
      const pending = fetch(h.graphqlUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: GENERATE, variables: { input: { ...textToImage, prompt: "abandoned" } } }),
        signal: controller.signal,
      }).catch((error: unknown) => error);
      await waitFor(async () => (h.simulator.received.length > 0 ? true : undefined));
      controller.abort();
      expect(await pending).toBeInstanceOf(Error);
      const line = await waitFor(async () => (await h.logLines()).find((l) => l.prompt === "abandoned"));
      expect(line.status).toBe("success");
      const stored = await fetch(line.output_images[0]!.url);
      expect(stored.status).toBe(200);
      await stored.arrayBuffer();
      const after = await postJson(h.graphqlUrl, `{ health { status } }`);
      expect(after.body.data).toBeTruthy();
    } finally {
      await h.close();
    }
  });
});

it("a large noisy upload still passes when within limits", async () => {
  const h = await startHarness();
  try {
    const png = await noisyPng(900, 700);
    const { body } = await postMultipart<Payload>(h.graphqlUrl, GENERATE, { input: { model: "Qwen/Qwen-Image-Edit", prompt: "x", images: imageSlots(1) } }, [
      { path: "variables.input.images.0", data: png },
    ]);
    expect(body.errors).toBeUndefined();
  } finally {
    await h.close();
  }
});

describe("rate-limit counters shared through Redis", () => {
  const redisServer = "/usr/bin/redis-server";
  const available = existsSync(redisServer);
  if (!available && process.env.REQUIRE_REDIS === "1") throw new Error("redis-server is required (REQUIRE_REDIS=1) but not installed");

  it.skipIf(!available)("two gateways share one client's budget", async () => {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const redis = spawn(redisServer, ["--port", String(port), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"], { stdio: "ignore" });
    try {
      await waitFor(async () => {
        const socket = connect(port, "127.0.0.1");
        return new Promise<true | undefined>((resolve) => {
          socket.once("connect", () => (socket.destroy(), resolve(true)));
          socket.once("error", () => resolve(undefined));
        });
      });
      const config = { rateLimit: { callsPerWindow: 3, windowSeconds: 60, redisUrl: `redis://127.0.0.1:${port}` } };
      const [one, two] = await Promise.all([startHarness({ config }), startHarness({ config })]);
      try {
        const codes: string[] = [];
        for (const h of [one, two, one, two]) {
          const { body } = await postJson(h.graphqlUrl, GENERATE, { input: textToImage });
          codes.push(String(body.errors?.[0]?.extensions?.code ?? "OK"));
        }
        expect(codes).toEqual(["OK", "OK", "OK", "RATE_LIMITED"]);
      } finally {
        await Promise.all([one.close(), two.close()]);
      }
    } finally {
      redis.kill("SIGKILL");
    }
  });
});

describe("a refused upload is still read to its end", () => {
  it("a large upload refused by validation gets its error, not a reset connection", async () => {
    const h = await startHarness();
    try {
      const big = await noisyPng(1600, 1200);
      // Qwen-Image takes no input image: refused by validation before the file is read.
      for (let i = 0; i < 3; i += 1) {
        const { body } = await postMultipart(h.graphqlUrl, GENERATE, { input: { model: "Qwen/Qwen-Image", prompt: "x", images: imageSlots(1) } }, [
          { path: "variables.input.images.0", data: big },
        ]);
        expect(body.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.images" });
      }
      const after = await postJson(h.graphqlUrl, `{ health { status } }`);
      expect(after.body.errors).toBeUndefined();
    } finally {
      await h.close();
    }
  });
});

describe("a refused upload is still read to its end, whoever refused it", () => {
  it("refusals before execution (operation caps, invalid documents) do not hang on unread files", async () => {
    const h = await startHarness({ config: { limits: { maxGenerationsPerRequest: 1 } } });
    try {
      const big = await noisyPng(1600, 1200);
      const twoCalls = `mutation($input: GenerateImagesInput!) { a: generateImages(input: $input) { callId } b: generateImages(input: $input) { callId } }`;
      const capped = await postMultipart(h.graphqlUrl, twoCalls, { input: { model: "Qwen/Qwen-Image-Edit", prompt: "x", images: imageSlots(1) } }, [
        { path: "variables.input.images.0", data: big },
      ]);
      expect(capped.body.errors?.[0]?.message).toMatch(/at most 1 generateImages/);
      const invalid = await postMultipart(h.graphqlUrl, `mutation($input: GenerateImagesInput!) { generateImages(input: $input) { nope } }`, {
        input: { model: "Qwen/Qwen-Image-Edit", prompt: "x", images: imageSlots(1) },
      }, [{ path: "variables.input.images.0", data: big }]);
      expect(invalid.body.errors?.[0]?.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
    } finally {
      await h.close();
    }
  }, 20_000);
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
