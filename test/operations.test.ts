import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CallLogRecord } from "../src/logging/call-log-record.js";
import { startSimulator } from "../src/simulator/simulator.js";
import { buildGateway, spawnGateway } from "./support/child-gateway.js";
import { TEST_API_KEY, imageSlots, postJson, postMultipart, startHarness, type Harness } from "./support/harness.js";
import { solidPng } from "./support/images.js";

const GENERATE_CACHED = /* GraphQL */ `
  mutation Generate($input: GenerateImagesInput!) {
    generateImages(input: $input) { callId cacheHit seed images { url bytes } }
  }
`;
interface Payload {
  generateImages: { callId: string; cacheHit: boolean; seed: number; images: Array<{ url: string; bytes: number }> };
}

function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text
    .split("\n")
    .find((l) => (l.startsWith(`${name} `) || l.startsWith(`${name}{`)) && wanted.every((w) => l.includes(w)));
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
}

describe("metrics", () => {
  it("count calls by model and status, durations, bytes, images, cache hits and refusals", async () => {
    const h = await startHarness({ config: { siliconflow: { maxConcurrency: 1, maxQueue: 0 } }, simulator: { latencyMs: 200 } });
    try {
      const png = await solidPng(64, 64, "#00ff00");
      await postMultipart(h.graphqlUrl, GENERATE_CACHED, { input: { model: "Qwen/Qwen-Image-Edit", prompt: "m", images: imageSlots(1), seed: 5 } }, [
        { path: "variables.input.images.0", data: png },
      ]);
      await postJson(h.graphqlUrl, GENERATE_CACHED, { input: { model: "Kwai-Kolors/Kolors", prompt: "k", batchSize: 2, seed: 3 } });
      await postJson(h.graphqlUrl, GENERATE_CACHED, { input: { model: "Kwai-Kolors/Kolors", prompt: "k", batchSize: 2, seed: 3 } });
      await postJson(h.graphqlUrl, GENERATE_CACHED, { input: { model: "Qwen/Qwen-Image", prompt: "" } });
      await Promise.all([1, 2].map((seed) => postJson(h.graphqlUrl, GENERATE_CACHED, { input: { model: "Qwen/Qwen-Image", prompt: "busy", seed } })));

      const response = await fetch(`${h.url}/metrics`);
      expect(response.headers.get("content-type")).toMatch(/text\/plain/);
      const text = await response.text();
      const p = "siliconflow_gateway_";
      expect(metricValue(text, `${p}generations_total`, { model: "Kwai-Kolors/Kolors", status: "success" })).toBe(2);
      expect(metricValue(text, `${p}generations_total`, { model: "Qwen/Qwen-Image-Edit", status: "success" })).toBe(1);
      expect(metricValue(text, `${p}generations_total`, { model: "Qwen/Qwen-Image", status: "failed" })).toBe(2);
      expect(metricValue(text, `${p}generations_total`, { model: "Qwen/Qwen-Image", status: "success" })).toBe(1);
      expect(metricValue(text, `${p}call_duration_seconds_count`, { status: "success" })).toBe(4);
      expect(metricValue(text, `${p}upstream_duration_seconds_count`, { model: "Kwai-Kolors/Kolors" })).toBe(1);
      expect(metricValue(text, `${p}upstream_duration_seconds_sum`, { model: "Qwen/Qwen-Image-Edit" })).toBeGreaterThanOrEqual(0.2);
      expect(metricValue(text, `${p}upload_bytes_total`)).toBe(png.length);
      expect(metricValue(text, `${p}output_images_total`, { model: "Kwai-Kolors/Kolors" })).toBe(4);
      expect(metricValue(text, `${p}cache_hits_total`, { model: "Kwai-Kolors/Kolors" })).toBe(1);
      expect(metricValue(text, `${p}rate_limited_total`, { code: "RATE_LIMITED" })).toBe(1);
      expect(metricValue(text, `${p}calls_in_flight`)).toBe(0);
      expect(text).toContain("process_resident_memory_bytes");
      expect(text).not.toContain(TEST_API_KEY);
    } finally {
      await h.close();
    }
  });
});

describe("result cache", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it("a repeat with an explicit seed is answered from the cache, not billed again", async () => {
    const png = await solidPng(100, 80, "#ff00ff");
    const call = () =>
      postMultipart<Payload>(h.graphqlUrl, GENERATE_CACHED, { input: { model: "Qwen/Qwen-Image-Edit", prompt: "same", seed: 77, images: imageSlots(1) } }, [
        { path: "variables.input.images.0", data: png },
      ]);
    const first = await call();
    const sent = h.simulator.received.length;
    const second = await call();
    expect(first.body.data!.generateImages.cacheHit).toBe(false);
    expect(second.body.data!.generateImages.cacheHit).toBe(true);
    expect(h.simulator.received.length).toBe(sent);
    expect(second.body.data!.generateImages.images.map((i) => i.url)).toEqual(first.body.data!.generateImages.images.map((i) => i.url));
    expect(second.body.data!.generateImages.seed).toBe(77);
    const line = (await h.logLines()).find((l) => l.call_id === second.body.data!.generateImages.callId)!;
    expect(line).toMatchObject({ status: "success", cache_hit: true, seed_used: 77 });
    expect(line.input_images[0]!.size).toEqual([100, 80]);
    expect(line.output_images).toHaveLength(1);

    const otherBytes = await postMultipart<Payload>(
      h.graphqlUrl,
      GENERATE_CACHED,
      { input: { model: "Qwen/Qwen-Image-Edit", prompt: "same", seed: 77, images: imageSlots(1) } },
      [{ path: "variables.input.images.0", data: await solidPng(100, 80, "#ff00fe") }],
    );
    expect(otherBytes.body.data!.generateImages.cacheHit).toBe(false);
  });

  it("cache: false bypasses it, and calls without a seed are never cached", async () => {
    const input = { model: "Qwen/Qwen-Image", prompt: "bypass", seed: 12 };
    await postJson<Payload>(h.graphqlUrl, GENERATE_CACHED, { input });
    const before = h.simulator.received.length;
    const bypass = await postJson<Payload>(h.graphqlUrl, GENERATE_CACHED, { input: { ...input, cache: false } });
    expect(bypass.body.data!.generateImages.cacheHit).toBe(false);
    expect(h.simulator.received.length).toBe(before + 1);
    const unseeded = { model: "Qwen/Qwen-Image", prompt: "no seed" };
    await postJson<Payload>(h.graphqlUrl, GENERATE_CACHED, { input: unseeded });
    const again = await postJson<Payload>(h.graphqlUrl, GENERATE_CACHED, { input: unseeded });
    expect(again.body.data!.generateImages.cacheHit).toBe(false);
    expect(h.simulator.received.length).toBe(before + 3);
    const other = await postJson<Payload>(h.graphqlUrl, GENERATE_CACHED, { input: { ...input, prompt: "bypass!" } });
    expect(other.body.data!.generateImages.cacheHit).toBe(false);
  });
});

describe("graceful shutdown", () => {
  let build: Awaited<ReturnType<typeof buildGateway>>;
  let root: string;
  beforeAll(async () => {
    build = await buildGateway();
    root = await mkdtemp(path.join(tmpdir(), "gateway-stop-"));
  }, 120_000);
  afterAll(async () => {
    await build?.cleanup();
    await rm(root, { recursive: true, force: true });
  });

  it("SIGTERM: not ready at once, the call in flight finishes and is logged, exit 0", async () => {
    const simulator = await startSimulator({ apiKey: TEST_API_KEY, latencyMs: 1_500 });
    const logDir = path.join(root, "logs");
    const gateway = await spawnGateway(build.main, {
      SILICONFLOW_API_KEY: TEST_API_KEY,
      SILICONFLOW_BASE_URL: simulator.url,
      LOG_DIR: logDir,
      DATA_DIR: path.join(root, "data"),
    });
    try {
      const inFlight = postJson<Payload>(`${gateway.url}/graphql`, GENERATE_CACHED, { input: { model: "Qwen/Qwen-Image", prompt: "finish me" } });
      const deadline = Date.now() + 5_000;
      while (simulator.received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(simulator.received).toHaveLength(1);
      gateway.child.kill("SIGTERM");
      const stopping = Date.now() + 5_000;
      while (!gateway.output.some((line) => line.includes("stopping")) && Date.now() < stopping) await new Promise((r) => setTimeout(r, 5));
      expect(gateway.output.some((line) => line.includes("stopping"))).toBe(true);
      // New work is turned away while the old one finishes.
      const ready = await fetch(`${gateway.url}/ready`).then(
        (r) => r.status,
        () => "refused",
      );
      expect([503, "refused"]).toContain(ready);
      const { body } = await inFlight;
      expect(body.errors).toBeUndefined();
      const exit = await gateway.exited;
      expect(exit.code).toBe(0);
      const lines = (await readFile(path.join(logDir, "image_generation.log"), "utf8")).trimEnd().split("\n");
      const line = JSON.parse(lines.at(-1)!) as CallLogRecord;
      expect(line).toMatchObject({ call_id: body.data!.generateImages.callId, status: "success" });
    } finally {
      gateway.child.kill("SIGKILL");
      await simulator.close();
    }
  });

  it("SIGTERM without a key (embedded simulator) exits 0 promptly", async () => {
    const gateway = await spawnGateway(build.main, { LOG_DIR: path.join(root, "nokey-logs"), DATA_DIR: path.join(root, "nokey-data") });
    try {
      const { body } = await postJson<Payload>(`${gateway.url}/graphql`, GENERATE_CACHED, { input: { model: "Qwen/Qwen-Image", prompt: "offline" } });
      expect(body.errors).toBeUndefined();
      gateway.child.kill("SIGTERM");
      const exit = await Promise.race([gateway.exited, new Promise<"hung">((resolve) => setTimeout(() => resolve("hung"), 10_000))]);
      expect(exit).toEqual({ code: 0, signal: null });
    } finally {
      gateway.child.kill("SIGKILL");
    }
  });
});
