import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GENERATE, TEST_API_KEY, postJson, startHarness, type Harness } from "./support/harness.js";

interface Payload {
  generateImages: { callId: string; images: Array<{ url: string }> };
}
const textToImage = { model: "Qwen/Qwen-Image", prompt: "a kite" };

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
