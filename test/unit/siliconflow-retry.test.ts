import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { closeServers, freePort } from "../support/loopback.js";
import { ErrorCode, GatewayError } from "../../src/errors.js";
import { SiliconFlowClient } from "../../src/upstream/siliconflow-client.js";
import type { UpstreamTrace } from "../../src/upstream/siliconflow-client.js";

/** A loopback server that answers POSTs from a script, one entry per request; `hang` never answers. */
type Scripted = { status: number; body?: string; headers?: Record<string, string> } | "hang";

interface Upstream {
  url: string;
  received: number;
  close(): Promise<void>;
}

const OK_BODY = JSON.stringify({ images: [{ url: "http://127.0.0.1:9/out.png" }], timings: { inference: 0.5 }, seed: 7 });
const servers: Server[] = [];

async function upstream(script: Scripted[]): Promise<Upstream> {
  const state = { received: 0 };
  const server = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      const step = script[Math.min(state.received, script.length - 1)];
      state.received += 1;
      if (step === "hang") return;
      response.writeHead(step!.status, { "content-type": "application/json", ...step!.headers });
      response.end(step!.body ?? "");
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    get received() {
      return state.received;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on. */
async function closedPortUrl(): Promise<string> {
  return `http://127.0.0.1:${await freePort()}/v1`;
}

function client(baseUrl: string, sleeps: number[], options: { maxRetries?: number; timeoutMs?: number } = {}): SiliconFlowClient {
  return new SiliconFlowClient({
    baseUrl,
    apiKey: "sk-unit-test-FAKE-0000000000",
    timeoutMs: options.timeoutMs ?? 10_000,
    maxRetries: options.maxRetries ?? 2,
    downloadTimeoutMs: 10_000,
    retryBaseDelayMs: 100,
    random: () => 0.5,
    // Recorded instead of waited: the policy is what is under test, not the clock.
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  });
}

async function generate(target: SiliconFlowClient, trace: UpstreamTrace): Promise<unknown> {
  return target.generate({ model: "Kwai-Kolors/Kolors", prompt: "p" }, [], trace).catch((error: unknown) => error);
}

afterEach(() => closeServers(servers));

describe("SiliconFlow client retry policy", () => {
  it("sends again after a 503 (overloaded: it did not run), with exponential backoff and jitter", async () => {
    const server = await upstream([{ status: 503, body: '{"code":50505}' }, { status: 503 }, { status: 200, body: OK_BODY }]);
    const sleeps: number[] = [];
    const trace: UpstreamTrace = { attempts: 0 };
    const result = await generate(client(server.url, sleeps), trace);
    expect(result).toMatchObject({ seed: 7, imageUrls: ["http://127.0.0.1:9/out.png"] });
    expect(server.received).toBe(3);
    expect(trace.attempts).toBe(3);
    // base/2 + random × base, base doubling: 50 + 0.5 × 100, then 100 + 0.5 × 200.
    expect(sleeps).toEqual([100, 200]);
  });

  it("gives up after maxRetries 503s with UPSTREAM_UNAVAILABLE", async () => {
    const server = await upstream([{ status: 503 }]);
    const sleeps: number[] = [];
    const trace: UpstreamTrace = { attempts: 0 };
    const error = await generate(client(server.url, sleeps, { maxRetries: 2 }), trace);
    expect((error as GatewayError).code).toBe(ErrorCode.UPSTREAM_UNAVAILABLE);
    expect(server.received).toBe(3);
    expect(trace.attempts).toBe(3);
    expect(trace.status).toBe(503);
  });

  it.each([
    [500, ErrorCode.UPSTREAM_UNAVAILABLE],
    [502, ErrorCode.UPSTREAM_UNAVAILABLE],
    [504, ErrorCode.UPSTREAM_TIMEOUT],
    [400, ErrorCode.UPSTREAM_BAD_REQUEST],
    [401, ErrorCode.UPSTREAM_UNAUTHORIZED],
    [403, ErrorCode.UPSTREAM_UNAUTHORIZED],
    [429, ErrorCode.UPSTREAM_RATE_LIMITED],
  ])("never sends again after HTTP %i (it may have run and been billed, or will fail the same)", async (status, code) => {
    const server = await upstream([{ status, body: '"nope"' }, { status: 200, body: OK_BODY }]);
    const sleeps: number[] = [];
    const error = await generate(client(server.url, sleeps), { attempts: 0 });
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).code).toBe(code);
    expect(server.received).toBe(1);
    expect(sleeps).toEqual([]);
  });

  it("passes SiliconFlow's Retry-After on with a 429", async () => {
    const server = await upstream([{ status: 429, body: '{"message":"Request was rejected due to rate limiting"}', headers: { "retry-after": "17" } }]);
    const error = (await generate(client(server.url, []), { attempts: 0 })) as GatewayError;
    expect(error.code).toBe(ErrorCode.UPSTREAM_RATE_LIMITED);
    expect(error.retryAfterSeconds).toBe(17);
  });

  it("retries a refused connection (nothing was sent), then says so", async () => {
    const sleeps: number[] = [];
    const trace: UpstreamTrace = { attempts: 0 };
    const error = (await generate(client(await closedPortUrl(), sleeps, { maxRetries: 2 }), trace)) as GatewayError;
    expect(error.code).toBe(ErrorCode.UPSTREAM_UNAVAILABLE);
    expect(error.message).toContain("refused the connection");
    expect(trace.attempts).toBe(3);
    expect(sleeps).toEqual([100, 200]);
  });

  it("never sends again after a timeout: the generation may be running", async () => {
    const server = await upstream(["hang", { status: 200, body: OK_BODY }]);
    const sleeps: number[] = [];
    const error = (await generate(client(server.url, sleeps, { timeoutMs: 300 }), { attempts: 0 })) as GatewayError;
    expect(error.code).toBe(ErrorCode.UPSTREAM_TIMEOUT);
    expect(server.received).toBe(1);
    expect(sleeps).toEqual([]);
  });

  it("with maxRetries 0 a 503 is final", async () => {
    const server = await upstream([{ status: 503 }, { status: 200, body: OK_BODY }]);
    const error = (await generate(client(server.url, [], { maxRetries: 0 }), { attempts: 0 })) as GatewayError;
    expect(error.code).toBe(ErrorCode.UPSTREAM_UNAVAILABLE);
    expect(server.received).toBe(1);
  });

  it("never puts the key in an error message, even when SiliconFlow echoes it", async () => {
    const server = await upstream([{ status: 400, body: JSON.stringify({ code: 20015, message: "bad header Bearer sk-unit-test-FAKE-0000000000" }) }]);
    const error = (await generate(client(server.url, []), { attempts: 0 })) as GatewayError;
    expect(error.code).toBe(ErrorCode.UPSTREAM_BAD_REQUEST);
    expect(error.message).not.toContain("sk-unit-test-FAKE-0000000000");
  });
});
