import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CallLogRecord } from "../src/call-log/record.js";
import { startSimulator, type RunningSimulator } from "../src/simulator/simulator.js";
import { buildGateway, spawnGateway, type ChildGateway } from "./support/child-gateway.js";
import { GENERATE, TEST_API_KEY, imageSlots, multipartBody } from "./support/harness.js";
import { solidPng } from "./support/images.js";

const CALLS = Number(process.env.LOAD_CALLS ?? 500);
const CONCURRENCY = 50;
const KNOWN_CODES = new Set([
  "BAD_USER_INPUT",
  "PAYLOAD_TOO_LARGE",
  "RATE_LIMITED",
  "UPSTREAM_UNAUTHORIZED",
  "UPSTREAM_RATE_LIMITED",
  "UPSTREAM_BAD_REQUEST",
  "UPSTREAM_UNAVAILABLE",
  "UPSTREAM_TIMEOUT",
]);
const LEAKS = [TEST_API_KEY, "/work/", "node_modules", "    at "];

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return Number(line?.split(" ")[1] ?? Number.NaN);
}

describe("bounded load: good, bad and faulty calls mixed", () => {
  let build: Awaited<ReturnType<typeof buildGateway>>;
  let root: string;
  let simulator: RunningSimulator;
  let gateway: ChildGateway;
  beforeAll(async () => {
    build = await buildGateway();
    root = await mkdtemp(path.join(tmpdir(), "gateway-load-"));
    simulator = await startSimulator({ apiKey: TEST_API_KEY, maxReceived: 0 });
    gateway = await spawnGateway(build.main, {
      SILICONFLOW_API_KEY: TEST_API_KEY,
      SILICONFLOW_BASE_URL: simulator.url,
      SILICONFLOW_TIMEOUT_MS: "2000",
      LOG_DIR: path.join(root, "logs"),
      DATA_DIR: path.join(root, "data"),
      LOG_LEVEL: "info",
      // A third of these calls are refused, all from one address: the refusal budget would answer most of
      // them 429 before reading them, and this test is about what reading them costs.
      RATE_LIMIT_REFUSALS_PER_MINUTE: "0",
    });
  }, 120_000);
  afterAll(async () => {
    gateway?.child.kill("SIGKILL");
    await simulator?.close();
    await build?.cleanup();
    await rm(root, { recursive: true, force: true });
  });

  it(`${CALLS} calls at concurrency ${CONCURRENCY}: no crash, one line per call, a code on every error, memory back near baseline`, async () => {
    const graphql = `${gateway.url}/graphql`;
    const png = await solidPng(96, 64, "#336699");
    const baselineHeap = await metric(gateway.url, "nodejs_heap_size_used_bytes");
    for (const [fault, times] of [
      [{ kind: "status", status: 500 }, 15],
      [{ kind: "malformed" }, 15],
      [{ kind: "reset" }, 10],
      [{ kind: "status", status: 503 }, 10],
      [{ kind: "status", status: 429 }, 10],
      [{ kind: "hang" }, 5],
      [{ kind: "latency", ms: 300 }, 40],
    ] as const) {
      simulator.addFault({ fault, times });
    }

    const request = (i: number): Promise<Response> => {
      const signal = AbortSignal.timeout(30_000);
      const json = (input: Record<string, unknown>) =>
        fetch(graphql, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: GENERATE, variables: { input } }), signal });
      const upload = (data: Uint8Array) =>
        fetch(graphql, {
          method: "POST",
          headers: { "apollo-require-preflight": "1" },
          body: multipartBody(GENERATE, { input: { model: "Qwen/Qwen-Image-Edit", prompt: `edit ${i}`, images: imageSlots(1) } }, [
            { path: "variables.input.images.0", data },
          ]),
          signal,
        });
      switch (i % 10) {
        case 0:
          return json({ model: "Qwen/Qwen-Image", prompt: "" });
        case 1:
          return json({ model: "nobody/none", prompt: "x" });
        case 2:
          return upload(Buffer.from(`not an image ${i}`));
        case 3:
          return upload(png);
        case 4:
          return json({ model: "Kwai-Kolors/Kolors", prompt: "cached", seed: 4, batchSize: 2 });
        default:
          return json({ model: "Tongyi-MAI/Z-Image-Turbo", prompt: `call ${i}` });
      }
    };

    const outcomes: Array<{ status: number; body: string }> = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < CALLS) {
          const i = next++;
          const response = await request(i);
          outcomes.push({ status: response.status, body: await response.text() });
        }
      }),
    );
    expect(outcomes).toHaveLength(CALLS);

    let succeeded = 0;
    const codes = new Map<string, number>();
    for (const outcome of outcomes) {
      for (const leak of LEAKS) expect(outcome.body).not.toContain(leak);
      const body = JSON.parse(outcome.body) as { data?: unknown; errors?: Array<{ extensions?: { code?: string } }> };
      if (!body.errors) {
        succeeded += 1;
        continue;
      }
      const code = body.errors[0]?.extensions?.code ?? "none";
      expect(KNOWN_CODES.has(code), `unexpected code ${code}`).toBe(true);
      codes.set(code, (codes.get(code) ?? 0) + 1);
    }
    expect(succeeded).toBeGreaterThan(CALLS / 3);
    expect(codes.get("BAD_USER_INPUT")).toBe(CALLS * 0.3);
    expect([...codes.keys()].some((c) => c.startsWith("UPSTREAM_"))).toBe(true);

    const logText = await readFile(path.join(root, "logs", "image_generation.log"), "utf8");
    for (const leak of LEAKS) expect(logText).not.toContain(leak);
    const lines = logText.trimEnd().split("\n").map((l) => JSON.parse(l) as CallLogRecord);
    expect(lines).toHaveLength(CALLS);
    expect(new Set(lines.map((l) => l.call_id)).size).toBe(CALLS);
    expect(lines.filter((l) => l.status === "success")).toHaveLength(succeeded);
    expect(lines.filter((l) => l.status === "failed").every((l) => typeof l.error_code === "string")).toBe(true);
    for (const leak of LEAKS) expect(gateway.output.join("\n")).not.toContain(leak);

    // Still serving, nothing in flight, and the heap comes back near where it started.
    expect(gateway.child.exitCode).toBeNull();
    expect(await metric(gateway.url, "siliconflow_gateway_calls_in_flight")).toBe(0);
    const deadline = Date.now() + 15_000;
    let heap = await metric(gateway.url, "nodejs_heap_size_used_bytes");
    while (heap > baselineHeap + 48 * 1024 * 1024 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      heap = await metric(gateway.url, "nodejs_heap_size_used_bytes");
    }
    expect(heap).toBeLessThan(baselineHeap + 48 * 1024 * 1024);
  }, 180_000);
});
