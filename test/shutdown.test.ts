import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CallLogRecord } from "../src/call-log/record.js";
import { startSimulator, type RunningSimulator } from "../src/simulator/simulator.js";
import { buildGateway, spawnGateway, type ChildGateway } from "./support/child-gateway.js";
import { TEST_API_KEY, postJson, startHarness } from "./support/harness.js";

const GENERATE = /* GraphQL */ `
  mutation Generate($input: GenerateImagesInput!) {
    generateImages(input: $input) { callId }
  }
`;
const GENERATE_TWO = /* GraphQL */ `
  mutation Two($a: GenerateImagesInput!, $b: GenerateImagesInput!) {
    first: generateImages(input: $a) { callId }
    second: generateImages(input: $b) { callId }
  }
`;
const input = (prompt: string) => ({ model: "Kwai-Kolors/Kolors", prompt });

/** Resolves once `check` holds, polling every 10 ms; fails after `ms` with `what`. */
async function waitFor(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function readLines(file: string): Promise<CallLogRecord[]> {
  const text = await readFile(file, "utf8");
  expect(text.endsWith("\n")).toBe(true);
  return text
    .trimEnd()
    .split("\n")
    .map((line) => JSON.parse(line) as CallLogRecord);
}

/** A status, or "refused" when nothing listens any more. */
const statusOf = (url: string) =>
  fetch(url).then(
    (response) => response.status,
    () => "refused" as const,
  );

describe("SIGTERM through the real process", () => {
  let build: Awaited<ReturnType<typeof buildGateway>>;
  let root: string;
  beforeAll(async () => {
    build = await buildGateway();
    root = await mkdtemp(path.join(tmpdir(), "gateway-shutdown-"));
  }, 120_000);
  afterAll(async () => {
    await build?.cleanup();
    await rm(root, { recursive: true, force: true });
  });

  async function start(name: string, simulator: RunningSimulator, shutdownTimeoutMs: number): Promise<{ gateway: ChildGateway; logFile: string }> {
    const logDir = path.join(root, name, "logs");
    const gateway = await spawnGateway(build.main, {
      SILICONFLOW_API_KEY: TEST_API_KEY,
      SILICONFLOW_BASE_URL: simulator.url,
      LOG_DIR: logDir,
      DATA_DIR: path.join(root, name, "data"),
      SHUTDOWN_TIMEOUT_MS: String(shutdownTimeoutMs),
    });
    return { gateway, logFile: path.join(logDir, "image_generation.log") };
  }

  it("calls cut at the deadline each get one failed SHUTDOWN_INTERRUPTED line, and the process exits by the deadline", async () => {
    const shutdownTimeoutMs = 1_500;
    // Each generation takes far longer than the gateway may wait for it.
    const simulator = await startSimulator({ apiKey: TEST_API_KEY, latencyMs: 120_000 });
    const { gateway, logFile } = await start("cut", simulator, shutdownTimeoutMs);
    try {
      const graphql = `${gateway.url}/graphql`;
      // Three paid calls under way: two requests of one call, and one request of two aliased calls, whose
      // second has not started (mutation fields run one after another) and so spends nothing.
      const clients = [
        postJson(graphql, GENERATE, { input: input("cut one") }),
        postJson(graphql, GENERATE, { input: input("cut two") }),
        postJson(graphql, GENERATE_TWO, { a: input("cut three"), b: input("cut four") }),
      ].map((p) => p.then(() => "answered", () => "cut"));
      await waitFor("SiliconFlow to receive the three calls", () => simulator.received.length === 3);

      const signalled = Date.now();
      gateway.child.kill("SIGTERM");
      await waitFor("the gateway to start stopping", () => gateway.output.some((line) => line.includes('"stopping"')));

      // Draining: the listener is still there, saying 503 to the load balancer, 200 to liveness.
      expect(await statusOf(`${gateway.url}/ready`)).toBe(503);
      expect(await statusOf(`${gateway.url}/health`)).toBe(200);
      // A new generation is turned away before anything is spent: another replica can take it.
      const late = await postJson(graphql, GENERATE, { input: input("too late") });
      expect(late.status).toBe(503);
      expect(late.body.errors?.[0]?.extensions?.code).toBe("SHUTTING_DOWN");
      expect(simulator.received).toHaveLength(3);

      const exit = await Promise.race([gateway.exited, new Promise<"hung">((resolve) => setTimeout(() => resolve("hung"), shutdownTimeoutMs + 10_000))]);
      expect(exit).toEqual({ code: 0, signal: null });
      // The deadline, plus a small bound for closing the listener and the log.
      expect(Date.now() - signalled).toBeLessThan(shutdownTimeoutMs + 3_000);
      expect(await Promise.all(clients)).toEqual(["cut", "cut", "cut"]);

      const lines = await readLines(logFile);
      const interrupted = lines.filter((line) => line.error_code === "SHUTDOWN_INTERRUPTED");
      expect(interrupted.map((line) => line.prompt).sort()).toEqual(["cut one", "cut three", "cut two"]);
      expect(new Set(interrupted.map((line) => line.call_id)).size).toBe(3);
      for (const line of interrupted) {
        expect(line.status).toBe("failed");
        expect(line.upstream_attempts).toBe(1);
        expect(line.error_message).toMatch(/may have run and been billed/);
      }
      const refused = lines.filter((line) => line.error_code === "SHUTTING_DOWN");
      expect(refused.map((line) => line.prompt)).toEqual(["too late"]);
      expect(refused[0]).toMatchObject({ status: "failed", upstream_attempts: 0 });
      expect(lines).toHaveLength(4);
      expect(gateway.output.join("\n")).not.toMatch(/was not written|call log write failed/);
    } finally {
      gateway.child.kill("SIGKILL");
      await simulator.close();
    }
  });

  it("a call that finishes within the deadline is logged as a success, and /ready says 503 until the listener closes", async () => {
    const simulator = await startSimulator({ apiKey: TEST_API_KEY, latencyMs: 1_500 });
    const { gateway, logFile } = await start("drain", simulator, 30_000);
    try {
      const inFlight = postJson<{ generateImages: { callId: string } }>(`${gateway.url}/graphql`, GENERATE, { input: input("finish me") });
      await waitFor("SiliconFlow to receive the call", () => simulator.received.length === 1);
      gateway.child.kill("SIGTERM");
      await waitFor("the gateway to start stopping", () => gateway.output.some((line) => line.includes('"stopping"')));
      expect(await statusOf(`${gateway.url}/ready`)).toBe(503);
      expect(await statusOf(`${gateway.url}/health`)).toBe(200);

      const { body } = await inFlight;
      expect(body.errors).toBeUndefined();
      expect(await gateway.exited).toEqual({ code: 0, signal: null });
      expect(await statusOf(`${gateway.url}/ready`)).toBe("refused");
      const lines = await readLines(logFile);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ call_id: body.data!.generateImages.callId, status: "success" });
    } finally {
      gateway.child.kill("SIGKILL");
      await simulator.close();
    }
  });
});

describe("a call that finishes after the deadline", () => {
  it("is not logged a second time: its line stays the SHUTDOWN_INTERRUPTED one", async () => {
    const appLog: string[] = [];
    // Answers after the deadline, while this test process (unlike a stopped gateway) lives on.
    const h = await startHarness({ config: { shutdownTimeoutMs: 200 }, simulator: { latencyMs: 1_500 }, appLog: { write: (line) => void appLog.push(line) } });
    try {
      const client = postJson(h.graphqlUrl, GENERATE, { input: input("late finisher") }).then(() => "answered", () => "cut");
      await waitFor("SiliconFlow to receive the call", () => h.simulator.received.length === 1);
      await h.gateway.close();
      expect(await client).toBe("cut");
      const finishedLate = () => appLog.some((line) => line.includes("finished after its line was written"));
      await waitFor("the call to finish after the shutdown", finishedLate);

      const lines = await h.logLines();
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ prompt: "late finisher", status: "failed", error_code: "SHUTDOWN_INTERRUPTED" });
      expect(appLog.join("")).not.toMatch(/was not written|call log write failed/);
    } finally {
      await h.close();
    }
  });
});
