import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator } from "../src/simulator/simulator.js";
import { buildGateway, spawnGateway } from "./support/child-gateway.js";
import { TEST_API_KEY, postJson, startHarness, type Harness } from "./support/harness.js";
import { mountTmpfs, tmpfsUnavailableReason, type Tmpfs } from "./support/tmpfs.js";

const unavailable = tmpfsUnavailableReason();
if (unavailable) console.warn(`data-disk-full tests skipped: ${unavailable}`);

const GENERATE = /* GraphQL */ `
  mutation Generate($input: GenerateImagesInput!) {
    generateImages(input: $input) { callId images { url bytes } }
  }
`;

/** Resolves once `check` holds, polling every 10 ms; fails after `ms` with `what`. */
async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const temporaryFiles = async (dir: string) => (await readdir(dir)).filter((name) => name.endsWith(".tmp"));

describe.skipIf(unavailable)("DATA_DIR on a full filesystem", () => {
  let disk: Tmpfs;
  let h: Harness;
  const appLog: string[] = [];
  beforeAll(async () => {
    disk = mountTmpfs(1024 * 1024);
    h = await startHarness({ config: { dataDir: disk.dir }, appLog: { write: (line) => void appLog.push(line) } });
  });
  afterAll(async () => {
    await h?.close();
    disk?.unmount();
  });

  it("a paid call that cannot be stored names the cause: STORAGE_UNAVAILABLE, ENOSPC in both logs, no server path to the client", async () => {
    disk.fill();
    try {
      const { body } = await postJson(h.graphqlUrl, GENERATE, { input: { model: "Kwai-Kolors/Kolors", prompt: "nowhere to put it", batchSize: 2 } });
      expect(h.simulator.received).toHaveLength(1);
      const error = body.errors?.[0];
      expect(error?.extensions?.code).toBe("STORAGE_UNAVAILABLE");
      expect(error?.message).toMatch(/no space left/i);
      expect(error?.message).toMatch(/may have been billed/);
      expect(error?.message).not.toContain(disk.dir);

      const [line] = await h.logLines();
      expect(line).toMatchObject({ status: "failed", error_code: "STORAGE_UNAVAILABLE", upstream_attempts: 1 });
      expect(line!.error_message).toMatch(/ENOSPC/);
      expect(line!.error_message).not.toContain(disk.dir);

      const entries = appLog.map((text) => JSON.parse(text) as Record<string, unknown>);
      const reported = entries.find((entry) => entry.callId === line!.call_id);
      expect(reported, "an application log entry for the call").toBeDefined();
      expect(JSON.stringify(reported)).toMatch(/ENOSPC/);
      // The partial files went with the failure.
      expect(await temporaryFiles(path.join(disk.dir, "images"))).toEqual([]);
    } finally {
      disk.free();
    }
    const { body } = await postJson(h.graphqlUrl, GENERATE, { input: { model: "Kwai-Kolors/Kolors", prompt: "room again" } });
    expect(body.errors).toBeUndefined();
  });
});

describe("kill -9 while outputs download", () => {
  let build: Awaited<ReturnType<typeof buildGateway>>;
  let root: string;
  beforeAll(async () => {
    build = await buildGateway();
    root = await mkdtemp(path.join(tmpdir(), "gateway-kill9-"));
  }, 120_000);
  afterAll(async () => {
    await build?.cleanup();
    await rm(root, { recursive: true, force: true });
  });

  it("leaves temporary files that the next start removes", async () => {
    const simulator = await startSimulator({ apiKey: TEST_API_KEY });
    // Downloads start (a temporary file each) and never end: the process is killed in the middle.
    simulator.addFault({ target: "download", fault: { kind: "hang" } });
    const dataDir = path.join(root, "data");
    const images = path.join(dataDir, "images");
    const env = { SILICONFLOW_API_KEY: TEST_API_KEY, SILICONFLOW_BASE_URL: simulator.url, LOG_DIR: path.join(root, "logs"), DATA_DIR: dataDir };
    const first = await spawnGateway(build.main, env);
    let second;
    try {
      void postJson(`${first.url}/graphql`, GENERATE, { input: { model: "Kwai-Kolors/Kolors", prompt: "killed mid-download", batchSize: 4 } }).catch(() => "cut");
      await waitFor("four downloads to be under way", async () => (await temporaryFiles(images)).length === 4);
      first.child.kill("SIGKILL");
      expect((await first.exited).signal).toBe("SIGKILL");
      expect(await temporaryFiles(images)).toHaveLength(4);

      simulator.clearFaults();
      second = await spawnGateway(build.main, env);
      expect(await temporaryFiles(images)).toEqual([]);
      expect(second.output.join("\n")).toMatch(/removed 4 temporary files/);
      const { body } = await postJson(`${second.url}/graphql`, GENERATE, { input: { model: "Kwai-Kolors/Kolors", prompt: "after the restart" } });
      expect(body.errors).toBeUndefined();
    } finally {
      first.child.kill("SIGKILL");
      second?.child.kill("SIGKILL");
      await simulator.close();
    }
  });
});
