import * as fs from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { emptyTiming, type CallLogRecord } from "../src/call-log/record.js";
import { openCallLog, type CallLogWriter, type CallLogWriterOptions } from "../src/call-log/writer.js";
import { startSimulator } from "../src/simulator/simulator.js";
import { buildGateway, spawnGateway } from "./support/child-gateway.js";
import { TEST_API_KEY, postJson, startHarness, type Harness } from "./support/harness.js";
import { mountTmpfs, tmpfsUnavailableReason, type Tmpfs } from "./support/tmpfs.js";

const unavailable = tmpfsUnavailableReason();
if (unavailable) console.warn(`call-log disk-full tests skipped: ${unavailable}`);

const FILE = "image_generation.log";
const MASKED_KEY = `${TEST_API_KEY.slice(0, 4)}****${TEST_API_KEY.slice(-4)}`;

function record(i: number, promptBytes = 200): CallLogRecord {
  return {
    timestamp: new Date().toISOString(),
    call_id: `call-${i}`,
    api_key: "sk-a****wxyz",
    model: "Kwai-Kolors/Kolors",
    prompt: `prompt ${i} ${"p".repeat(promptBytes)}`,
    negative_prompt: null,
    image_size: "1024x1024",
    batch_size: 1,
    seed: i,
    num_inference_steps: 20,
    guidance_scale: "7.5",
    cfg: null,
    input_images: [],
    output_images: [],
    total_time_seconds: 0.001,
    total_time_ms: 1,
    status: "success",
    error_message: null,
    seed_used: i,
    timing: emptyTiming(),
    upstream_attempts: 1,
  };
}

/** Every line of the file, which must end with a newline: a torn last line fails to parse here. */
function readWhole(file: string): Array<Record<string, unknown>> {
  const text = fs.readFileSync(file, "utf8");
  if (text === "") return [];
  expect(text.endsWith("\n"), "the file ends with a whole line").toBe(true);
  return text
    .slice(0, -1)
    .split("\n")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Resolves once `check` holds, polling every 10 ms; fails after `ms` with `what`. */
async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe.skipIf(unavailable)("call-log writer on a full filesystem", () => {
  let disk: Tmpfs;
  let writer: CallLogWriter | undefined;
  let events: { unavailable: Error[]; available: number[]; unwritten: string[] };

  beforeEach(() => {
    disk = mountTmpfs(256 * 1024);
    events = { unavailable: [], available: [], unwritten: [] };
  });
  afterEach(async () => {
    await writer?.close();
    writer = undefined;
    disk.unmount();
  });

  function open(options: Partial<CallLogWriterOptions> = {}): CallLogWriter {
    writer = openCallLog({
      dir: disk.dir,
      retryMs: 20,
      onUnavailable: (error) => events.unavailable.push(error),
      onAvailable: (written) => events.available.push(written),
      onUnwritten: (line) => events.unwritten.push(line),
      ...options,
    });
    return writer;
  }

  it("never leaves a torn line: each line is in the file whole, or not at all", () => {
    const log = open();
    log.write(record(0));
    disk.fill();
    // Lines of many lengths, so that some fit the room left in the file's last page, and some only in part.
    for (let i = 1; i <= 40; i++) log.write(record(i, (i * 397) % 6000));
    const lines = readWhole(log.path);
    expect(lines[0]?.call_id).toBe("call-0");
    expect(log.available).toBe(false);
    expect(events.unavailable).toHaveLength(1);
    expect(events.unavailable[0]?.message).toMatch(/no space left on the device \(ENOSPC\)/);
  });

  it("keeps what it could not write, in order, and writes it when space returns; the reason is reported once", async () => {
    const log = open();
    disk.fill();
    for (let i = 0; i < 5; i++) log.write(record(i, 3000));
    expect(log.available).toBe(false);
    expect(readWhole(log.path)).toEqual([]);
    disk.free();
    await waitFor("the kept lines to be written", () => events.available.length > 0);
    expect(log.available).toBe(true);
    expect(events.available).toEqual([5]);
    expect(events.unavailable).toHaveLength(1);
    log.write(record(5));
    expect(readWhole(log.path).map((line) => line.call_id)).toEqual(["call-0", "call-1", "call-2", "call-3", "call-4", "call-5"]);
    expect(events.unwritten).toEqual([]);
  });

  it("keeps a bounded number of lines; past the bound, a line is handed over at once", () => {
    const log = open({ backlog: { maxLines: 2, maxBytes: 1024 * 1024 } });
    disk.fill();
    for (let i = 0; i < 4; i++) log.write(record(i, 3000));
    expect(events.unwritten.map((line) => (JSON.parse(line) as CallLogRecord).call_id)).toEqual(["call-2", "call-3"]);
  });

  it("closes with the disk still full, handing over every line it could not write", async () => {
    const log = open();
    disk.fill();
    log.write(record(0, 3000));
    log.write(record(1, 3000));
    await log.close();
    writer = undefined;
    expect(events.unwritten.map((line) => (JSON.parse(line) as CallLogRecord).call_id)).toEqual(["call-0", "call-1"]);
    expect(readWhole(path.join(disk.dir, FILE))).toEqual([]);
  });
});

describe("call-log writer: a torn last line left by a crash", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "call-log-torn-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("is cut off at start (reported), so the next line starts whole; a whole last line missing only its newline is kept", async () => {
    const file = path.join(dir, FILE);
    const whole = JSON.stringify(record(1));
    fs.writeFileSync(file, `${whole}\n${whole.slice(0, 50)}`);
    const errors: Error[] = [];
    const log = openCallLog({ dir, onError: (error) => errors.push(error) });
    log.write(record(2));
    await log.close();
    expect(readWhole(file).map((line) => line.call_id)).toEqual(["call-1", "call-2"]);
    expect(errors.map((error) => error.message).join("\n")).toMatch(/partial last line of 50 bytes/);

    fs.writeFileSync(file, whole);
    const again = openCallLog({ dir });
    again.write(record(3));
    await again.close();
    expect(readWhole(file).map((line) => line.call_id)).toEqual(["call-1", "call-3"]);
  });
});

const GENERATE = /* GraphQL */ `
  mutation Generate($input: GenerateImagesInput!) {
    generateImages(input: $input) { callId }
  }
`;
const input = (prompt: string) => ({ model: "Kwai-Kolors/Kolors", prompt });

describe.skipIf(unavailable)("LOG_DIR on a full filesystem, through the gateway", () => {
  let disk: Tmpfs;
  let h: Harness;
  const appLog: string[] = [];
  beforeAll(async () => {
    disk = mountTmpfs(256 * 1024);
    h = await startHarness({ config: { logDir: disk.dir }, appLog: { write: (line) => void appLog.push(line) } });
  });
  afterAll(async () => {
    await h?.close();
    disk?.unmount();
  });

  const entries = () => appLog.map((text) => JSON.parse(text) as { msg?: string; level?: number; callLogLine?: string });

  it("the call in flight keeps its line; new generations are refused before SiliconFlow, /ready says 503, and all recovers by itself", async () => {
    disk.fill();
    // In flight when the disk filled: it ran and was paid for, so it is answered and its line is kept.
    const paid = await postJson<{ generateImages: { callId: string } }>(h.graphqlUrl, GENERATE, { input: input("paid") });
    expect(paid.body.errors).toBeUndefined();
    const paidId = paid.body.data!.generateImages.callId;
    expect(h.simulator.received).toHaveLength(1);

    const ready = await fetch(`${h.url}/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ ready: false, reason: "the call log cannot be written: no space left on the device (ENOSPC)" });
    for (const prompt of ["refused one", "refused two"]) {
      const refused = await postJson(h.graphqlUrl, GENERATE, { input: input(prompt) });
      expect(refused.status).toBe(503);
      expect(refused.body.errors?.[0]?.extensions?.code).toBe("CALL_LOG_UNAVAILABLE");
      expect(refused.body.errors?.[0]?.message).toMatch(/ENOSPC/);
      expect(refused.body.errors?.[0]?.message).not.toContain(disk.dir);
    }
    expect(h.simulator.received).toHaveLength(1);
    expect((await fetch(`${h.url}/health`)).status).toBe(200);

    const down = entries().filter((entry) => entry.msg?.includes("call log cannot be written"));
    expect(down).toHaveLength(1);
    expect(JSON.stringify(down[0])).toMatch(/ENOSPC/);

    disk.free();
    await waitFor("the call log to recover", () => entries().some((entry) => entry.msg?.includes("call log can be written again")));
    expect(entries().filter((entry) => entry.msg?.includes("call log cannot be written"))).toHaveLength(1);
    expect((await fetch(`${h.url}/ready`)).status).toBe(200);
    const after = await postJson(h.graphqlUrl, GENERATE, { input: input("after") });
    expect(after.body.errors).toBeUndefined();

    const lines = await h.logLines();
    expect(lines.map((line) => [line.prompt, line.status, line.error_code ?? null])).toEqual([
      ["paid", "success", null],
      ["refused one", "failed", "CALL_LOG_UNAVAILABLE"],
      ["refused two", "failed", "CALL_LOG_UNAVAILABLE"],
      ["after", "success", null],
    ]);
    expect(lines[0]!.call_id).toBe(paidId);
    expect(entries().some((entry) => entry.callLogLine)).toBe(false);
  });
});

describe.skipIf(unavailable)("SIGTERM with the call-log disk still full", () => {
  let build: Awaited<ReturnType<typeof buildGateway>>;
  let root: string;
  beforeAll(async () => {
    build = await buildGateway();
    root = await mkdtemp(path.join(tmpdir(), "gateway-full-stop-"));
  }, 120_000);
  afterAll(async () => {
    await build?.cleanup();
    await rm(root, { recursive: true, force: true });
  });

  it("exits within its deadline and hands the unwritten lines, masked, to the application log", async () => {
    const disk = mountTmpfs(256 * 1024);
    const simulator = await startSimulator({ apiKey: TEST_API_KEY });
    const shutdownTimeoutMs = 2_000;
    const gateway = await spawnGateway(build.main, {
      SILICONFLOW_API_KEY: TEST_API_KEY,
      SILICONFLOW_BASE_URL: simulator.url,
      LOG_DIR: disk.dir,
      DATA_DIR: path.join(root, "data"),
      SHUTDOWN_TIMEOUT_MS: String(shutdownTimeoutMs),
    });
    try {
      disk.fill();
      const paid = await postJson<{ generateImages: { callId: string } }>(`${gateway.url}/graphql`, GENERATE, { input: input("paid, then stopped") });
      expect(paid.body.errors).toBeUndefined();
      const refused = await postJson(`${gateway.url}/graphql`, GENERATE, { input: input("refused, then stopped") });
      expect(refused.body.errors?.[0]?.extensions?.code).toBe("CALL_LOG_UNAVAILABLE");

      const signalled = Date.now();
      gateway.child.kill("SIGTERM");
      const exit = await Promise.race([gateway.exited, new Promise<"hung">((resolve) => setTimeout(() => resolve("hung"), shutdownTimeoutMs + 10_000))]);
      expect(exit).toEqual({ code: 0, signal: null });
      expect(Date.now() - signalled).toBeLessThan(shutdownTimeoutMs + 3_000);

      const handedOver = gateway.output
        .map((line) => (JSON.parse(line) as { callLogLine?: string }).callLogLine)
        .filter((line): line is string => typeof line === "string")
        .map((line) => JSON.parse(line) as CallLogRecord);
      expect(handedOver.map((line) => [line.prompt, line.status])).toEqual([
        ["paid, then stopped", "success"],
        ["refused, then stopped", "failed"],
      ]);
      expect(handedOver[0]!.call_id).toBe(paid.body.data!.generateImages.callId);
      expect(handedOver[0]!.api_key).toBe(MASKED_KEY);
      expect(gateway.output.join("\n")).not.toContain(TEST_API_KEY);
      expect(readWhole(path.join(disk.dir, FILE))).toEqual([]);
    } finally {
      gateway.child.kill("SIGKILL");
      await simulator.close();
      disk.unmount();
    }
  });
});
