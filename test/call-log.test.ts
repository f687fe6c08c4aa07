import { readFileSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CallLogRecord } from "../src/call-log/record.js";
import { startSimulator } from "../src/simulator/simulator.js";
import { buildGateway, spawnGateway } from "./support/child-gateway.js";
import { GENERATE, TEST_API_KEY, imageSlots, postJson, postMultipart, startHarness, type Harness } from "./support/harness.js";
import { noisyPng, solidJpeg, solidPng } from "./support/images.js";

const MASKED_KEY = `${TEST_API_KEY.slice(0, 4)}****${TEST_API_KEY.slice(-4)}`;
const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const CONTRACT_FIELDS = [
  "timestamp", "call_id", "api_key", "model", "prompt", "negative_prompt", "image_size", "batch_size", "seed",
  "num_inference_steps", "guidance_scale", "cfg", "input_images", "output_images", "total_time_seconds",
  "total_time_ms", "status", "error_message", "seed_used", "timing",
];

interface Payload {
  generateImages: { callId: string; seed: number; images: Array<{ url: string; width: number; height: number; bytes: number }> };
}

/** The contract as the repository documents it: every field a line may carry is named there. */
const CONTRACT_DOC = readFileSync(new URL("../docs/call-log.md", import.meta.url), "utf8");

function expectDocumented(line: CallLogRecord): void {
  const keys = new Set<string>(Object.keys(line));
  for (const entry of [...line.input_images, ...line.output_images]) for (const key of Object.keys(entry)) keys.add(key);
  for (const key of Object.keys(line.timing)) if (key.endsWith("_ms")) keys.add(key);
  expect([...keys].filter((key) => !CONTRACT_DOC.includes(`\`${key}\``)), "fields docs/call-log.md does not name").toEqual([]);
}

function expectContractShape(line: CallLogRecord): void {
  for (const field of CONTRACT_FIELDS) expect(line, `field ${field}`).toHaveProperty(field);
  expect(line.timestamp).toMatch(ISO_MS);
  expect(typeof line.call_id).toBe("string");
  expect(line.total_time_seconds).toBeCloseTo(line.total_time_ms / 1000, 3);
  expect(line.total_time_ms).toBeGreaterThan(0);
  expect(["success", "failed"]).toContain(line.status);
  expect(typeof line.timing).toBe("object");
}

const preview = (bytes: Buffer) => bytes.toString("base64").slice(0, 100);

describe("the replica that wrote a line", () => {
  it("is REPLICA_ID when set, on successes and refusals alike", async () => {
    const h = await startHarness({ env: { REPLICA_ID: "replica-b" } });
    try {
      const { body } = await postJson<Payload>(h.graphqlUrl, GENERATE, { input: { model: "Kwai-Kolors/Kolors", prompt: "a lighthouse" } });
      const refused = await postJson(h.graphqlUrl, GENERATE, { input: { model: "no/such-model", prompt: "x" } });
      expect(refused.body.errors?.[0]?.extensions?.code).toBeDefined();
      const lines = await h.logLines();
      expect(lines).toHaveLength(2);
      expect(lines.find((l) => l.call_id === body.data!.generateImages.callId)).toMatchObject({ status: "success", replica: "replica-b", api: "graphql", job_id: null });
      expect(lines.find((l) => l.status === "failed")).toMatchObject({ replica: "replica-b" });
      for (const line of lines) expectDocumented(line);
    } finally {
      await h.close();
    }
  });
});

describe("call log lines through the real server", () => {
  let h: Harness;
  const appLog: string[] = [];
  beforeAll(async () => {
    h = await startHarness({ appLog: { write: (line) => void appLog.push(line) }, config: { trustProxy: true } });
  });
  afterAll(async () => {
    await h.close();
  });

  async function lineFor(callId: string): Promise<CallLogRecord> {
    const line = (await h.logLines()).find((l) => l.call_id === callId);
    expect(line, `a line for ${callId}`).toBeDefined();
    return line!;
  }

  it("a success: every field, masked key, previews of the outputs, gateway and upstream URLs", async () => {
    const { body, headers } = await postJson<Payload>(
      h.graphqlUrl,
      `mutation Poster($input: GenerateImagesInput!) { generateImages(input: $input) { callId seed images { url width height bytes } } }`,
      { input: { model: "Kwai-Kolors/Kolors", prompt: "a quiet harbour", negativePrompt: "blurry", imageSize: "768x1024", batchSize: 2, seed: 9999999999, numInferenceSteps: 25, guidanceScale: 7.5 } },
      { "x-forwarded-for": "203.0.113.9", "x-request-id": "req-abc.123" },
    );
    expect(body.errors).toBeUndefined();
    const result = body.data!.generateImages;
    const line = await lineFor(result.callId);
    expectDocumented(line);
    expectContractShape(line);
    expect(line).toMatchObject({
      api_key: MASKED_KEY,
      model: "Kwai-Kolors/Kolors",
      prompt: "a quiet harbour",
      negative_prompt: "blurry",
      image_size: "768x1024",
      batch_size: 2,
      seed: 9999999999,
      num_inference_steps: 25,
      guidance_scale: "7.5",
      cfg: null,
      input_images: [],
      status: "success",
      error_message: null,
      seed_used: 9999999999,
      operation_name: "Poster",
      request_id: "req-abc.123",
      client_ip: "203.0.113.9",
      provider: "siliconflow",
      cache_hit: false,
      // No REPLICA_ID: the machine's name.
      replica: hostname(),
    });
    expect(headers.get("x-request-id")).toBe("req-abc.123");
    expect(line.trace_id).toMatch(/[0-9a-f-]{36}/);
    expect(line.gateway_version).toMatch(/^\d+\.\d+\.\d+/);
    expect(typeof line.timing.inference).toBe("number");
    for (const phase of ["upload_ms", "preprocess_ms", "upstream_ms", "download_ms", "store_ms"] as const) {
      expect(typeof line.timing[phase], phase).toBe("number");
    }
    expect(line.output_images).toHaveLength(2);
    for (const [i, output] of line.output_images.entries()) {
      const served = Buffer.from(await (await fetch(result.images[i]!.url)).arrayBuffer());
      expect(output).toMatchObject({ index: i, size: [768, 1024], mime_type: "image/png", bytes: served.length, url: result.images[i]!.url });
      expect(output.base64_preview).toBe(preview(served));
      expect(output.upstream_url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/files\//);
    }
  });

  it("an edit with three inputs: sizes right, previews equal what the simulator received", async () => {
    const uploads = [await solidPng(300, 200, "#ff8800"), await solidJpeg(120, 160, "#0088ff"), await noisyPng(64, 48)];
    const response = await postMultipart<Payload>(
      h.graphqlUrl,
      GENERATE,
      { input: { model: "Qwen/Qwen-Image-Edit-2509", prompt: "combine", cfg: 4, images: imageSlots(3) } },
      uploads.map((data, i) => ({ path: `variables.input.images.${i}`, data })),
    );
    expect(response.body.errors).toBeUndefined();
    const line = await lineFor(response.body.data!.generateImages.callId);
    expectContractShape(line);
    const sent = h.simulator.received.at(-1)!.body;
    expect(line.cfg).toBe("4");
    expect(line.input_images.map((i) => i.size)).toEqual([
      [300, 200],
      [120, 160],
      [64, 48],
    ]);
    ["image", "image2", "image3"].forEach((field, i) => {
      const base64 = String(sent[field]).split(",")[1];
      expect(line.input_images[i]!.base64_preview).toBe(base64!.slice(0, 100));
      expect(line.input_images[i]!.base64_preview).toHaveLength(100);
    });
    expect(line.input_images.map((i) => i.mime_type)).toEqual(["image/png", "image/jpeg", "image/png"]);
    expect(line.input_images.map((i) => [i.source_format, i.converted])).toEqual([
      ["png", false],
      ["jpeg", false],
      ["png", false],
    ]);
  });

  it("an upstream failure is logged failed with its code, the key never in full", async () => {
    h.simulator.addFault({ fault: { kind: "status", status: 500, body: `{"message":"boom with key ${TEST_API_KEY}"}` }, times: 1 });
    const { body } = await postJson<Payload>(h.graphqlUrl, GENERATE, { input: { model: "Qwen/Qwen-Image", prompt: "fails upstream" } });
    expect(body.errors?.[0]?.extensions?.code).toBe("UPSTREAM_UNAVAILABLE");
    expect(JSON.stringify(body)).not.toContain(TEST_API_KEY);
    const line = (await h.logLines()).at(-1)!;
    expectContractShape(line);
    expect(line).toMatchObject({ status: "failed", error_code: "UPSTREAM_UNAVAILABLE", model: "Qwen/Qwen-Image", output_images: [], seed_used: null });
    expect(line.error_message).toMatch(/HTTP 500/);
    expect(line.timing.upstream_ms).toBeGreaterThanOrEqual(0);
    expect(line.timing.download_ms).toBeNull();
    expect(JSON.stringify(line)).not.toContain(TEST_API_KEY);
  });

  it("a validation failure is logged failed with its message", async () => {
    const before = (await h.logLines()).length;
    const { body } = await postJson(h.graphqlUrl, GENERATE, { input: { model: "Kwai-Kolors/Kolors", prompt: "x", batchSize: 9 } });
    expect(body.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    const lines = await h.logLines();
    expect(lines).toHaveLength(before + 1);
    const line = lines.at(-1)!;
    expectContractShape(line);
    expect(line).toMatchObject({ status: "failed", error_code: "BAD_USER_INPUT", batch_size: 9, input_images: [], output_images: [] });
    expect(line.error_message).toMatch(/between 1 and 4/);
    expect(line.timing.upstream_ms).toBeNull();
  });

  it("a request refused before execution (wrong variable type) still logs its call", async () => {
    const before = (await h.logLines()).length;
    const { body } = await postJson(h.graphqlUrl, GENERATE, { input: { model: "Qwen/Qwen-Image", prompt: "x", seed: "not a number" } });
    expect(body.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    const lines = await h.logLines();
    expect(lines).toHaveLength(before + 1);
    expect(lines.at(-1)).toMatchObject({ status: "failed", error_code: "BAD_USER_INPUT", operation_name: "Generate" });
  });

  it("two aliased mutations in one operation give two lines", async () => {
    const before = (await h.logLines()).length;
    const query = `mutation Two {
      a: generateImages(input: { model: "Qwen/Qwen-Image", prompt: "first", seed: 1 }) { callId }
      b: generateImages(input: { model: "Kwai-Kolors/Kolors", prompt: "second", batchSize: 7 }) { callId }
    }`;
    const { body } = await postJson<{ a: { callId: string } | null; b: null }>(h.graphqlUrl, query);
    // generateImages is non-null in the contract, so b's error nulls the whole result; both calls still ran.
    expect(body.data).toBeNull();
    expect(body.errors?.[0]?.path).toEqual(["b"]);
    const lines = (await h.logLines()).slice(before);
    expect(lines).toHaveLength(2);
    const first = lines.find((l) => l.prompt === "first")!;
    const second = lines.find((l) => l.prompt === "second")!;
    expect(first).toMatchObject({ status: "success", operation_name: "Two", seed_used: 1 });
    expect(first.output_images).toHaveLength(1);
    expect(second).toMatchObject({ status: "failed", error_code: "BAD_USER_INPUT" });
  });

  it("200 concurrent calls give 200 whole lines", async () => {
    const before = (await h.logLines()).length;
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        postJson<Payload>(h.graphqlUrl, GENERATE, {
          input: i % 4 === 3 ? { model: "Qwen/Qwen-Image", prompt: "" } : { model: "Tongyi-MAI/Z-Image-Turbo", prompt: `call ${i}`, seed: i },
        }),
      ),
    );
    const text = await readFile(path.join(h.logDir, "image_generation.log"), "utf8");
    expect(text.endsWith("\n")).toBe(true);
    const lines = text.trimEnd().split("\n").slice(before).map((l) => JSON.parse(l) as CallLogRecord);
    expect(lines).toHaveLength(200);
    const ids = new Set(lines.map((l) => l.call_id));
    expect(ids.size).toBe(200);
    const succeeded = results.filter((r) => !r.body.errors).map((r) => r.body.data!.generateImages.callId);
    expect(succeeded).toHaveLength(150);
    for (const id of succeeded) expect(ids.has(id)).toBe(true);
    expect(lines.filter((l) => l.status === "failed")).toHaveLength(50);
  });

  it("the file is 0600 and its folder 0700", async () => {
    expect((await stat(path.join(h.logDir, "image_generation.log"))).mode & 0o777).toBe(0o600);
    expect((await stat(h.logDir)).mode & 0o777).toBe(0o700);
  });

  it("at debug, the application log has one line per request, with its id, status and time", async () => {
    const { headers } = await postJson(h.graphqlUrl, `{ health { status } }`, {}, { "x-request-id": "req-debug-line.7" });
    expect(headers.get("x-request-id")).toBe("req-debug-line.7");
    // The line is written when the response has finished, a moment after the client has read it.
    await expect
      .poll(() => appLog.map((text) => JSON.parse(text) as Record<string, unknown>).find((line) => line.reqId === "req-debug-line.7"))
      .toMatchObject({ msg: "request completed", method: "POST", url: "/graphql", statusCode: 200, responseTime: expect.any(Number) });
  });

  it("the application log holds no key, no base64 image and no Authorization header", () => {
    const text = appLog.join("");
    expect(text.length).toBeGreaterThan(0);
    expect(text).not.toContain(TEST_API_KEY);
    expect(text).not.toMatch(/[A-Za-z0-9+/]{200,}/);
    expect(text.toLowerCase()).not.toContain("bearer ");
  });
});

describe("call log levels and rotation", () => {
  it("LOG_LEVEL=warn keeps failures and drops successes", async () => {
    const h = await startHarness({ env: { LOG_LEVEL: "warn" } });
    try {
      await postJson(h.graphqlUrl, GENERATE, { input: { model: "Qwen/Qwen-Image", prompt: "ok" } });
      await postJson(h.graphqlUrl, GENERATE, { input: { model: "Qwen/Qwen-Image", prompt: "" } });
      const lines = await h.logLines();
      expect(lines.map((l) => l.status)).toEqual(["failed"]);
      expect((lines[0] as CallLogRecord & { level: string }).level).toBe("warn");
    } finally {
      await h.close();
    }
  });

  it("rotates under load: the current file keeps its name, retention is honoured, no line torn", async () => {
    const h = await startHarness({ config: { callLog: { rotation: { maxBytes: 8_000, retain: 2, gzip: false } } } });
    try {
      const results = await Promise.all(
        Array.from({ length: 60 }, (_, i) => postJson(h.graphqlUrl, GENERATE, { input: { model: "Qwen/Qwen-Image", prompt: `rotation ${i}`, seed: i } })),
      );
      expect(results.every((r) => !r.body.errors)).toBe(true);
      // Retention runs just after a rotation; wait for it with a bound.
      const deadline = Date.now() + 5_000;
      let files = await readdir(h.logDir);
      while (files.filter((f) => f !== "image_generation.log").length > 2 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        files = await readdir(h.logDir);
      }
      expect(files).toContain("image_generation.log");
      const rotated = files.filter((f) => f.startsWith("image_generation.log."));
      expect(rotated.length).toBeGreaterThan(0);
      expect(rotated.length).toBeLessThanOrEqual(2);
      let total = 0;
      for (const file of ["image_generation.log", ...rotated]) {
        const text = await readFile(path.join(h.logDir, file), "utf8");
        expect((await stat(path.join(h.logDir, file))).size).toBeLessThanOrEqual(8_000);
        for (const line of text.trimEnd().split("\n").filter(Boolean)) {
          expect(() => JSON.parse(line)).not.toThrow();
          total += 1;
        }
      }
      expect(total).toBeGreaterThan(0);
      expect(total).toBeLessThan(60);
    } finally {
      await h.close();
    }
  });
});

describe("the gateway process", () => {
  let build: Awaited<ReturnType<typeof buildGateway>>;
  let root: string;
  beforeAll(async () => {
    build = await buildGateway();
    root = await mkdtemp(path.join(tmpdir(), "gateway-proc-"));
  }, 120_000);
  afterAll(async () => {
    await build?.cleanup();
    await rm(root, { recursive: true, force: true });
  });

  it("a line is on disk before the response leaves: it survives SIGKILL right after", async () => {
    const simulator = await startSimulator({ apiKey: TEST_API_KEY });
    const logDir = path.join(root, "kill-logs");
    const gateway = await spawnGateway(build.main, {
      SILICONFLOW_API_KEY: TEST_API_KEY,
      SILICONFLOW_BASE_URL: simulator.url,
      LOG_DIR: logDir,
      DATA_DIR: path.join(root, "kill-data"),
    });
    try {
      const { body } = await postJson<Payload>(`${gateway.url}/graphql`, GENERATE, { input: { model: "Qwen/Qwen-Image", prompt: "then die" } });
      gateway.child.kill("SIGKILL");
      expect((await gateway.exited).signal).toBe("SIGKILL");
      const lines = (await readFile(path.join(logDir, "image_generation.log"), "utf8")).trimEnd().split("\n");
      const line = JSON.parse(lines.at(-1)!) as CallLogRecord;
      expect(line.call_id).toBe(body.data!.generateImages.callId);
      expect(line.status).toBe("success");
      expect(gateway.output.join("\n")).not.toContain(TEST_API_KEY);
    } finally {
      gateway.child.kill("SIGKILL");
      await simulator.close();
    }
  });

  it("an unwritable LOG_DIR stops start-up with a clear message", async () => {
    const file = path.join(root, "not-a-folder");
    await writeFile(file, "x");
    await expect(spawnGateway(build.main, { LOG_DIR: path.join(file, "logs"), DATA_DIR: path.join(root, "d2") }, 15_000)).rejects.toThrow(
      /call log folder .*not-a-folder\/logs.* cannot be created or written/,
    );
  });
});
