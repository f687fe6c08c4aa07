import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CallLogRecord } from "../src/call-log/record.js";
import { startSimulator } from "../src/simulator/simulator.js";
import { buildGateway, spawnGateway } from "./support/child-gateway.js";
import { TEST_API_KEY, postJson } from "./support/harness.js";

const GENERATE_CACHED = /* GraphQL */ `
  mutation Generate($input: GenerateImagesInput!) {
    generateImages(input: $input) { callId cacheHit seed images { url bytes } }
  }
`;
interface Payload {
  generateImages: { callId: string; cacheHit: boolean; seed: number; images: Array<{ url: string; bytes: number }> };
}

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
