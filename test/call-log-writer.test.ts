import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { setImmediate as nextTurn } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import ts from "typescript";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { emptyTiming, type CallLogRecord } from "../src/call-log/record.js";
import { openCallLog, type CallLogWriter, type CallLogWriterOptions } from "../src/call-log/writer.js";

const FILE = "image_generation.log";
const ROTATED = /^image_generation\.log\.\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}\.\d{3}Z(\.gz)?$/;

/** docs/call-log.md's table: every field of the original design, and the JSON types it may have. */
const CONTRACT: Record<string, Array<"string" | "number" | "null" | "array" | "object">> = {
  timestamp: ["string"],
  call_id: ["string"],
  api_key: ["string"],
  model: ["string"],
  prompt: ["string"],
  negative_prompt: ["string", "null"],
  image_size: ["string", "null"],
  batch_size: ["number", "null"],
  seed: ["number", "null"],
  num_inference_steps: ["number", "null"],
  guidance_scale: ["string", "null"],
  cfg: ["string", "null"],
  input_images: ["array"],
  output_images: ["array"],
  total_time_seconds: ["number"],
  total_time_ms: ["number"],
  status: ["string"],
  error_message: ["string", "null"],
  seed_used: ["number", "null"],
  timing: ["object"],
};

function jsonType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

function record(i: number, overrides: Partial<CallLogRecord> = {}): CallLogRecord {
  return {
    timestamp: new Date(Date.UTC(2026, 10, 26, 3, 15, 0, i % 1000)).toISOString(),
    call_id: `call-${i}`,
    api_key: "sk-a****wxyz",
    model: "Qwen/Qwen-Image-Edit-2509",
    prompt: `a red fox in snow, 狐狸 🦊 "quoted" \\ line\nbreak #${i}`,
    negative_prompt: null,
    image_size: "1024x1024",
    batch_size: 1,
    seed: 42,
    num_inference_steps: 20,
    guidance_scale: "7.5",
    cfg: "4",
    input_images: [
      { index: 0, base64_preview: "iVBORw0KGgo".padEnd(100, "A"), size: [640, 480], mime_type: "image/png", bytes: 12345 },
    ],
    output_images: [
      {
        index: 0,
        base64_preview: "/9j/4AAQ".padEnd(100, "B"),
        size: [1024, 1024],
        mime_type: "image/jpeg",
        bytes: 234567,
        url: `http://localhost:4000/images/${i}.jpg`,
        upstream_url: "https://sc-maas.oss.example/outputs/x.png?Expires=1",
      },
    ],
    total_time_seconds: 3.217,
    total_time_ms: 3217,
    status: "success",
    error_message: null,
    seed_used: 42,
    timing: { ...emptyTiming(), inference: 2.9, upload_ms: 12, preprocess_ms: 30, upstream_ms: 3000, download_ms: 150, store_ms: 5 },
    trace_id: "trace-abc",
    operation_name: "Generate",
    request_id: `req-${i}`,
    provider: "simulator",
    ...overrides,
  };
}

function failed(i: number, overrides: Partial<CallLogRecord> = {}): CallLogRecord {
  return record(i, {
    status: "failed",
    error_message: "SiliconFlow is unavailable",
    error_code: "UPSTREAM_UNAVAILABLE",
    output_images: [],
    seed_used: null,
    ...overrides,
  });
}

type Line = Record<string, unknown>;

function parseLines(text: string): Line[] {
  expect(text === "" || text.endsWith("\n")).toBe(true);
  return text
    .split("\n")
    .slice(0, -1)
    .map((l) => JSON.parse(l) as Line);
}

function readLog(file: string): Line[] {
  const raw = fs.readFileSync(file);
  return parseLines((file.endsWith(".gz") ? gunzipSync(raw) : raw).toString("utf8"));
}

function callNumber(line: Line): number {
  return Number(String(line.call_id).slice("call-".length));
}

let dir: string;
let writer: CallLogWriter | undefined;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "call-log-"));
});

afterEach(async () => {
  await writer?.close();
  writer = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

function open(options: Partial<CallLogWriterOptions> = {}): CallLogWriter {
  writer = openCallLog({ dir: path.join(dir, "logs"), ...options });
  return writer;
}

/** `count` writes from `tasks` async tasks that yield between writes, as concurrent requests do. */
async function writeConcurrently(log: CallLogWriter, count: number, tasks: number, make = record): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: tasks }, async () => {
      while (next < count) {
        const i = next++;
        // Lines of varied length, so rotation boundaries fall anywhere.
        log.write(make(i, { prompt: `prompt ${i} ${"p".repeat((i * 37) % 900)}` }));
        await nextTurn();
      }
    }),
  );
}

describe("call-log writer: lines", () => {
  it("writes one JSON line with every contract field, its name and its type", async () => {
    const log = open();
    const rec = record(1);
    log.write(rec);
    await log.close();

    const [line, ...rest] = readLog(log.path);
    expect(rest).toHaveLength(0);
    for (const [field, types] of Object.entries(CONTRACT)) {
      expect(line, `field ${field}`).toHaveProperty(field);
      expect(types, `type of ${field}`).toContain(jsonType(line?.[field]));
    }
    // Values come back exactly, extras included; pino adds only the level label.
    const { level, ...fields } = line!;
    expect(level).toBe("info");
    expect(fields).toEqual(JSON.parse(JSON.stringify(rec)));
    expect(line).not.toHaveProperty("time");
    expect(line).not.toHaveProperty("pid");
    expect(line).not.toHaveProperty("hostname");
    expect(line?.timestamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });

  it("appends to an existing file", async () => {
    open().write(record(1));
    await writer?.close();
    const log = open();
    log.write(record(2));
    await log.close();
    expect(readLog(log.path).map(callNumber)).toEqual([1, 2]);
  });

  it("has the line in the file when write() returns (what survives a SIGKILL)", () => {
    const log = open();
    for (let i = 0; i < 3; i++) {
      log.write(record(i));
      // Same tick, nothing awaited: the bytes are already in the kernel.
      const lines = parseLines(fs.readFileSync(log.path, "utf8"));
      expect(lines).toHaveLength(i + 1);
      expect(lines[i]?.call_id).toBe(`call-${i}`);
    }
  });

  it("creates the folder 0700 and the file 0600, and narrows an existing file to 0600", async () => {
    const nested = path.join(dir, "a", "b", "logs");
    writer = openCallLog({ dir: nested });
    writer.write(record(1));
    expect(fs.statSync(nested).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(nested, FILE)).mode & 0o777).toBe(0o600);
    await writer.close();

    const existing = path.join(dir, "existing");
    fs.mkdirSync(existing, { mode: 0o755 });
    fs.writeFileSync(path.join(existing, FILE), "", { mode: 0o644 });
    fs.chmodSync(path.join(existing, FILE), 0o644);
    writer = openCallLog({ dir: existing });
    expect(fs.statSync(path.join(existing, FILE)).mode & 0o777).toBe(0o600);
    // The folder was not ours to change.
    expect(fs.statSync(existing).mode & 0o777).toBe(0o755);
  });

  it("writes success at info, failures at warn, internal errors at error, and drops what is below the level", async () => {
    const log = open({ level: "warn" });
    log.write(record(1));
    log.write(failed(2));
    log.write(failed(3, { error_code: "INTERNAL_SERVER_ERROR", error_message: "Internal server error" }));
    await log.close();
    expect(readLog(log.path).map((l) => [l.call_id, l.level])).toEqual([
      ["call-2", "warn"],
      ["call-3", "error"],
    ]);

    const errorsOnly = openCallLog({ dir: path.join(dir, "e"), level: "error" });
    errorsOnly.write(failed(4));
    errorsOnly.write(failed(5, { error_code: "INTERNAL_SERVER_ERROR" }));
    await errorsOnly.close();
    expect(readLog(errorsOnly.path).map((l) => l.call_id)).toEqual(["call-5"]);

    const silent = openCallLog({ dir: path.join(dir, "s"), level: "silent" });
    silent.write(failed(6, { error_code: "INTERNAL_SERVER_ERROR" }));
    await silent.close();
    expect(fs.readFileSync(silent.path, "utf8")).toBe("");
  });

  it("keeps 2000 lines from interleaved async writers whole and distinct", async () => {
    const log = open();
    await writeConcurrently(log, 2000, 200);
    await log.close();
    const lines = readLog(log.path);
    expect(lines).toHaveLength(2000);
    expect(new Set(lines.map((l) => l.call_id)).size).toBe(2000);
  });

  it("refuses writes after close with an error naming the call", async () => {
    const log = open();
    await log.close();
    expect(() => log.write(record(9))).toThrow(/closed.*call-9/);
  });

  it("fails to open with a message naming the folder when a parent is a file", () => {
    const file = path.join(dir, "not-a-folder");
    fs.writeFileSync(file, "x");
    const target = path.join(file, "logs");
    expect(() => openCallLog({ dir: target })).toThrow(`call log folder "${target}" cannot be created or written: a part of the path is a file, not a folder (ENOTDIR)`);
  });

  it("fails to open with a message naming the folder when it is a file", () => {
    const file = path.join(dir, "plain-file");
    fs.writeFileSync(file, "x");
    expect(() => openCallLog({ dir: file })).toThrow(new RegExp(`call log folder "${file}" .*(EEXIST|ENOTDIR)`));
  });

  it("fails to open with a message naming the file when it cannot be opened", () => {
    const logs = path.join(dir, "logs");
    fs.mkdirSync(path.join(logs, FILE), { recursive: true });
    expect(() => openCallLog({ dir: logs })).toThrow(`call log file "${path.join(logs, FILE)}" cannot be opened for appending: it is a folder (EISDIR)`);
  });

  it("rejects bad options with a message naming them", () => {
    expect(() => open({ fileName: "../x.log" })).toThrow(/plain file name/);
    expect(() => open({ rotation: { maxBytes: 0, retain: 1, gzip: false } })).toThrow(/maxBytes/);
    expect(() => open({ rotation: { maxBytes: 10, retain: -1, gzip: false } })).toThrow(/retain/);
  });
});

describe("call-log writer: rotation", () => {
  function listDir(): string[] {
    return fs.readdirSync(path.join(dir, "logs")).sort();
  }

  it("rotates by size under load: current name kept, no line split or lost, files within the limit", async () => {
    const maxBytes = 64 * 1024;
    const log = open({ rotation: { maxBytes, retain: 1000, gzip: false } });
    await writeConcurrently(log, 2000, 200);
    await log.close();

    const names = listDir();
    expect(names).toContain(FILE);
    const rotated = names.filter((n) => n !== FILE);
    expect(rotated.length).toBeGreaterThan(5);
    for (const name of rotated) expect(name).toMatch(ROTATED);

    const numbers: number[] = [];
    for (const name of names) {
      const file = path.join(dir, "logs", name);
      expect(fs.statSync(file).size).toBeLessThanOrEqual(maxBytes);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      numbers.push(...readLog(file).map(callNumber));
    }
    expect(numbers.sort((a, b) => a - b)).toEqual(Array.from({ length: 2000 }, (_, i) => i));
  });

  it("keeps only `retain` rotated files, the newest ones", async () => {
    const log = open({ rotation: { maxBytes: 32 * 1024, retain: 3, gzip: false } });
    await writeConcurrently(log, 2000, 50);
    await log.close();

    const rotated = listDir().filter((n) => n !== FILE);
    expect(rotated).toHaveLength(3);
    // Names sort by age: together with the current file, they hold one unbroken run of the last calls.
    const numbers = [...rotated, FILE].flatMap((n) => readLog(path.join(dir, "logs", n)).map(callNumber));
    expect(numbers.at(-1)).toBe(1999);
    expect(numbers).toEqual(Array.from({ length: numbers.length }, (_, i) => 2000 - numbers.length + i));
  });

  it("gzips rotated files in the background into valid .gz files", async () => {
    const log = open({ rotation: { maxBytes: 32 * 1024, retain: 4, gzip: true } });
    await writeConcurrently(log, 1500, 100);
    await log.close();

    const names = listDir();
    const rotated = names.filter((n) => n !== FILE);
    expect(rotated).toHaveLength(4);
    for (const name of rotated) {
      expect(name).toMatch(/\.gz$/);
      expect(fs.statSync(path.join(dir, "logs", name)).mode & 0o777).toBe(0o600);
    }
    const numbers = [...rotated, FILE].flatMap((n) => readLog(path.join(dir, "logs", n)).map(callNumber));
    expect(numbers.at(-1)).toBe(1499);
    expect(numbers).toEqual(Array.from({ length: numbers.length }, (_, i) => 1500 - numbers.length + i));
  });

  it("rotates by time at UTC hour boundaries, driven by the clock", async () => {
    let now = new Date("2026-11-26T10:59:59.998Z");
    const log = open({ clock: () => now, rotation: { interval: "hourly", retain: 10, gzip: false } });
    log.write(record(1));
    log.write(record(2));
    now = new Date("2026-11-26T11:00:00.000Z");
    log.write(record(3));
    now = new Date("2026-11-26T11:59:00.000Z");
    log.write(record(4));
    // Two hours later: one rotation, not one per hour missed.
    now = new Date("2026-11-26T13:30:00.000Z");
    log.write(record(5));
    await log.close();

    expect(listDir()).toEqual([FILE, `${FILE}.2026-11-26T11-00-00.000Z`, `${FILE}.2026-11-26T13-30-00.000Z`]);
    const read = (name: string): number[] => readLog(path.join(dir, "logs", name)).map(callNumber);
    expect(read(`${FILE}.2026-11-26T11-00-00.000Z`)).toEqual([1, 2]);
    expect(read(`${FILE}.2026-11-26T13-30-00.000Z`)).toEqual([3, 4]);
    expect(read(FILE)).toEqual([5]);
  });

  it("rotates daily at UTC midnight, not before", async () => {
    let now = new Date("2026-11-26T23:59:59.999Z");
    const log = open({ clock: () => now, rotation: { interval: "daily", retain: 10, gzip: false } });
    log.write(record(1));
    now = new Date("2026-11-27T00:00:00.001Z");
    log.write(record(2));
    await log.close();
    expect(listDir()).toEqual([FILE, `${FILE}.2026-11-27T00-00-00.001Z`]);
  });

  it("on a restart in a new period, moves the previous period's file aside before the first line", async () => {
    const logs = path.join(dir, "logs");
    fs.mkdirSync(logs, { mode: 0o700 });
    fs.writeFileSync(path.join(logs, FILE), `${JSON.stringify(record(1))}\n`, { mode: 0o600 });
    const yesterday = new Date("2026-11-25T18:00:00.000Z");
    fs.utimesSync(path.join(logs, FILE), yesterday, yesterday);
    const log = open({ clock: () => new Date("2026-11-26T08:00:00.000Z"), rotation: { interval: "daily", retain: 5, gzip: false } });
    log.write(record(2));
    await log.close();
    expect(listDir()).toEqual([FILE, `${FILE}.2026-11-26T08-00-00.000Z`]);
    expect(readLog(path.join(logs, FILE)).map(callNumber)).toEqual([2]);
  });

  it("stamps rotations in the same millisecond 1 ms apart, so names sort by age", async () => {
    const now = new Date("2026-11-26T03:15:00.123Z");
    const log = open({ clock: () => now, rotation: { maxBytes: 1, retain: 2, gzip: false } });
    for (let i = 0; i < 5; i++) log.write(record(i)); // each line over the limit: a rotation before each but the first
    await log.close();
    expect(listDir()).toEqual([FILE, `${FILE}.2026-11-26T03-15-00.125Z`, `${FILE}.2026-11-26T03-15-00.126Z`]);
    expect(readLog(path.join(dir, "logs", `${FILE}.2026-11-26T03-15-00.126Z`)).map(callNumber)).toEqual([3]);
    expect(readLog(path.join(dir, "logs", FILE)).map(callNumber)).toEqual([4]);

    // A restart with the clock behind the newest name still names the next file after it.
    const again = open({ clock: () => new Date("2026-11-26T03:00:00.000Z"), rotation: { maxBytes: 1, retain: 5, gzip: false } });
    again.write(record(5));
    await again.close();
    expect(listDir().at(-1)).toBe(`${FILE}.2026-11-26T03-15-00.127Z`);
  });

  it("after a crash: removes half-written .gz.tmp files and compresses what was left", async () => {
    const logs = path.join(dir, "logs");
    fs.mkdirSync(logs, { mode: 0o700 });
    const left = `${FILE}.2026-11-25T00-00-00.000Z`;
    fs.writeFileSync(path.join(logs, left), `${JSON.stringify(record(7))}\n`, { mode: 0o600 });
    fs.writeFileSync(path.join(logs, `${left}.gz.tmp`), "partial");
    const log = open({ rotation: { maxBytes: 1024 * 1024, retain: 5, gzip: true } });
    await log.close();
    expect(listDir()).toEqual([FILE, `${left}.gz`]);
    expect(readLog(path.join(logs, `${left}.gz`)).map(callNumber)).toEqual([7]);
  });
});

describe("call-log writer: SIGKILL", () => {
  const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

  /** A plain-JS copy of the writer and the fixture (Node 20 cannot run TypeScript by itself). */
  function buildChild(root: string): string {
    const sources = [
      ...fs.readdirSync(path.join(repo, "src/call-log")).map((f) => `src/call-log/${f}`),
      "test/fixtures/sigkill-writer.ts",
    ].filter((f) => f.endsWith(".ts"));
    for (const rel of sources) {
      const { outputText } = ts.transpileModule(fs.readFileSync(path.join(repo, rel), "utf8"), {
        compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
      });
      const out = path.join(root, rel.replace(/\.ts$/, ".js"));
      fs.mkdirSync(path.dirname(out), { recursive: true });
      fs.writeFileSync(out, outputText);
    }
    fs.writeFileSync(path.join(root, "package.json"), '{ "type": "module" }');
    fs.symlinkSync(path.join(repo, "node_modules"), path.join(root, "node_modules"), "dir");
    return path.join(root, "test/fixtures/sigkill-writer.js");
  }

  it("every call whose write() returned has its whole line in the file after SIGKILL", async () => {
    const script = buildChild(path.join(dir, "build"));
    const logs = path.join(dir, "logs");
    const child = spawn(process.execPath, [script, logs], { stdio: ["ignore", "pipe", "inherit"] });

    const acknowledged: string[] = [];
    let pending = "";
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, signal) => resolve(signal)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("child did not acknowledge 300 writes within 20 s")), 20_000);
      child.stdout.setEncoding("utf8");
      child.stdout.on("data", (chunk: string) => {
        const parts = (pending + chunk).split("\n");
        pending = parts.pop() ?? "";
        acknowledged.push(...parts);
        if (acknowledged.length >= 300) {
          clearTimeout(timer);
          // Killed while it keeps writing: no chance to flush anything.
          child.kill("SIGKILL");
          resolve();
        }
      });
      child.on("exit", () => reject(new Error("child exited before it was killed")));
    });
    expect(await exited).toBe("SIGKILL");

    const text = fs.readFileSync(path.join(logs, FILE), "utf8");
    const inFile = new Set(parseLines(text).map((l) => l.call_id));
    for (const id of acknowledged) expect(inFile.has(id), id).toBe(true);
  });
});

describe("secureLogDir", () => {
  it("tightens a folder that holds only the call log, warns about a shared one", async () => {
    const { secureLogDir } = await import("../src/call-log/log-dir.js");
    const root = await fsp.mkdtemp(path.join(os.tmpdir(), "logdir-"));
    const ours = path.join(root, "ours");
    await fsp.mkdir(ours, { mode: 0o755 });
    await fsp.chmod(ours, 0o755);
    await fsp.writeFile(path.join(ours, ".gitkeep"), "");
    expect(secureLogDir(ours)).toBeUndefined();
    expect((await fsp.stat(ours)).mode & 0o777).toBe(0o700);
    const shared = path.join(root, "shared");
    await fsp.mkdir(shared);
    await fsp.chmod(shared, 0o755);
    await fsp.writeFile(path.join(shared, "syslog"), "");
    expect(secureLogDir(shared)).toMatch(/readable by others/);
    expect((await fsp.stat(shared)).mode & 0o777).toBe(0o755);
    await fsp.rm(root, { recursive: true, force: true });
  });
});
