import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CallLogRecord } from "../src/call-log/record.js";
import { startSimulator, type RunningSimulator } from "../src/simulator/simulator.js";
import { launchChromium, recordNetwork, skipBrowserTests, type NetworkLog } from "./support/browser.js";
import { buildGateway, spawnGateway, type ChildGateway } from "./support/child-gateway.js";
import { GENERATE, TEST_API_KEY, postJson } from "./support/harness.js";
import { noisyPng } from "./support/images.js";
import { NGINX_PATH, skipNginxTests, startNginx, type RunningNginx } from "./support/nginx.js";
import { redisAvailable, startRedis, type TestRedis } from "./support/redis.js";
import { ensureWebBuilt } from "./support/web-build.js";

const EDIT_MODEL = "Qwen/Qwen-Image-Edit-2509";
const TEXT_MODEL = "Kwai-Kolors/Kolors";

interface Generated {
  generateImages: { callId: string; images: Array<{ url: string; bytes: number }> };
}

interface Replica {
  name: string;
  gateway: ChildGateway;
  logFile: string;
}

if (skipNginxTests) console.warn(`replica tests skipped: no nginx at ${NGINX_PATH} (apt-get install nginx)`);

const sha256 = (bytes: Buffer): string => createHash("sha256").update(bytes).digest("hex");

async function fetchBytes(url: string): Promise<{ status: number; bytes: Buffer }> {
  const response = await fetch(url);
  return { status: response.status, bytes: Buffer.from(await response.arrayBuffer()) };
}

async function callIdsIn(file: string): Promise<string[]> {
  const text = await readFile(file, "utf8").catch(() => "");
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as CallLogRecord).call_id);
}

/**
 * Two gateway processes as two replicas: one simulator upstream, one DATA_DIR (the store every replica
 * reads), a log folder each. The proxy is trusted for X-Forwarded-For, and passes the client's Host on.
 */
async function startReplicas(main: string, root: string, simulator: RunningSimulator, names: readonly string[], env: Record<string, string> = {}): Promise<Replica[]> {
  return Promise.all(
    names.map(async (name) => {
      const logDir = path.join(root, `logs-${name}`);
      const gateway = await spawnGateway(main, {
        SILICONFLOW_API_KEY: TEST_API_KEY,
        SILICONFLOW_BASE_URL: simulator.url,
        LOG_DIR: logDir,
        DATA_DIR: path.join(root, "data"),
        TRUST_PROXY: "127.0.0.1",
        // Each replica sees every client behind the one proxy address.
        MAX_CONNECTIONS_PER_ADDRESS: "0",
        ...env,
      });
      return { name, gateway, logFile: path.join(logDir, "image_generation.log") };
    }),
  );
}

async function stopReplicas(replicas: readonly Replica[]): Promise<void> {
  await Promise.all(
    replicas.map(async ({ gateway }) => {
      if (gateway.child.exitCode === null && gateway.child.signalCode === null) gateway.child.kill("SIGTERM");
      await gateway.exited;
    }),
  );
}

let build: Awaited<ReturnType<typeof buildGateway>> | undefined;
beforeAll(async () => {
  if (skipNginxTests) return;
  await ensureWebBuilt();
  build = await buildGateway();
}, 180_000);
afterAll(async () => {
  await build?.cleanup();
});

describe.skipIf(skipNginxTests)("two replicas behind nginx, round-robin", () => {
  let root: string;
  let simulator: RunningSimulator;
  let replicas: Replica[] = [];
  let nginx: RunningNginx;
  let redis: TestRedis | undefined;

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), "gateway-replicas-"));
    simulator = await startSimulator({ apiKey: TEST_API_KEY });
    // Shared jobs, as deployed: a job submitted through one replica is followed through the other.
    if (redisAvailable) redis = await startRedis();
    replicas = await startReplicas(build!.main, root, simulator, ["a", "b"], redis ? { REDIS_URL: redis.url } : {});
    nginx = await startNginx(replicas.map((replica) => replica.gateway.url));
  }, 60_000);
  afterAll(async () => {
    await nginx?.close();
    await stopReplicas(replicas);
    await redis?.kill();
    await simulator?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  const replicaOf = async (callId: string): Promise<string[]> => {
    const found: string[] = [];
    for (const replica of replicas) if ((await callIdsIn(replica.logFile)).includes(callId)) found.push(replica.name);
    return found;
  };

  it("sends successive generations to the replicas in turn, each logged by the replica that ran it", async () => {
    const answered: string[] = [];
    for (let i = 0; i < 6; i += 1) {
      const { status, body } = await postJson<Generated>(`${nginx.url}/graphql`, GENERATE, { input: { model: TEXT_MODEL, prompt: `turn ${i}` } });
      expect(status).toBe(200);
      expect(body.errors).toBeUndefined();
      const image = body.data!.generateImages.images[0]!;
      // The proxy passed the client's Host on: the URL names the proxy, not a replica.
      expect(image.url.startsWith(`${nginx.url}/images/`)).toBe(true);
      answered.push(body.data!.generateImages.callId);
    }
    const owners = await Promise.all(answered.map(replicaOf));
    // Exactly one call log holds each call.
    for (const owner of owners) expect(owner).toHaveLength(1);
    const sequence = owners.map((owner) => owner[0]!);
    for (let i = 1; i < sequence.length; i += 1) expect(sequence[i]).not.toBe(sequence[i - 1]);
    expect(sequence.filter((name) => name === "a")).toHaveLength(3);

    const upstreams = new Set((await nginx.accessLog()).filter((line) => line.includes("POST /graphql")).map((line) => line.split(" ")[0]));
    expect(upstreams).toEqual(new Set(replicas.map((replica) => new URL(replica.gateway.url).host)));
  });

  it("serves an image written by one replica from the other, with the same bytes", async () => {
    const { body } = await postJson<Generated>(`${nginx.url}/graphql`, GENERATE, { input: { model: TEXT_MODEL, prompt: "one store" } });
    const url = new URL(body.data!.generateImages.images[0]!.url);
    const [writer] = await replicaOf(body.data!.generateImages.callId);
    const [a, b] = await Promise.all(replicas.map((replica) => fetchBytes(`${replica.gateway.url}${url.pathname}`)));
    expect(writer).toBeDefined();
    expect(a!.status).toBe(200);
    expect(b!.status).toBe(200);
    expect(a!.bytes.length).toBe(body.data!.generateImages.images[0]!.bytes);
    expect(sha256(b!.bytes)).toBe(sha256(a!.bytes));
    // The name is the content's hash, whichever replica wrote it.
    expect(url.pathname).toBe(`/images/${sha256(a!.bytes)}.png`);
  });

  // The page submits jobs, which replicas share only through Redis.
  describe.skipIf(skipBrowserTests || !redisAvailable)("the web page through nginx, in headless Chromium", () => {
    let browser: Browser;
    let context: BrowserContext;
    let page: Page;
    let network: NetworkLog;
    let files: string;
    const pageErrors: string[] = [];

    beforeAll(async () => {
      browser = await launchChromium();
      files = await mkdtemp(path.join(tmpdir(), "replicas-page-files-"));
      // Noise does not compress: a picture of several MB, past nginx's default 1 MB body limit.
      const picture = await noisyPng(1400, 1000);
      expect(picture.length).toBeGreaterThan(3 * 1024 * 1024);
      await writeFile(path.join(files, "noise.png"), picture);
      context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      network = await recordNetwork(context);
      page = await context.newPage();
      page.setDefaultTimeout(10_000);
      page.on("pageerror", (error) => pageErrors.push(`pageerror: ${error.message}`));
      page.on("console", (message) => {
        if (message.type() === "error") pageErrors.push(`console: ${message.text()}`);
      });
    }, 60_000);
    afterAll(async () => {
      await context?.close();
      await browser?.close();
      if (files) await rm(files, { recursive: true, force: true });
    });

    it("loads the page, uploads a picture to an edit model, generates, and shows the result image", async () => {
      const sentBefore = simulator.received.length;
      await page.goto(`${nginx.url}/`);
      await page.locator("#model:not([disabled]) option").first().waitFor({ state: "attached" });
      await page.getByRole("combobox", { name: "Model", exact: true }).selectOption(EDIT_MODEL);
      await page.locator("#images").setInputFiles(path.join(files, "noise.png"));
      await page.getByRole("img", { name: "Preview of noise.png" }).waitFor();
      await page.getByRole("textbox", { name: "Prompt", exact: true }).fill("behind the proxy");
      await page.getByRole("button", { name: "Generate" }).click();
      await page.waitForFunction(
        () => {
          const images = Array.from(document.querySelectorAll<HTMLImageElement>("#results img"));
          return images.length > 0 && images.every((image) => image.complete && image.naturalWidth > 0);
        },
        undefined,
        { timeout: 20_000 },
      );
      const results = await page.locator("#results img").evaluateAll((all) =>
        all.map((image) => ({ src: (image as HTMLImageElement).src, width: (image as HTMLImageElement).naturalWidth })),
      );
      expect(results).toHaveLength(1);
      expect(results[0]!.src.startsWith(`${nginx.url}/images/`)).toBe(true);
      expect(results[0]!.width).toBeGreaterThan(0);

      // The upload went through the proxy whole, and the preflight header with it (else CSRF refusal).
      const sent = simulator.received.slice(sentBefore).at(-1)!.body;
      expect(sent).toMatchObject({ model: EDIT_MODEL, prompt: "behind the proxy" });
      expect(String(sent.image)).toMatch(/^data:image\/png;base64,/);
      // Every request of the page went to the proxy's address, the job's WebSocket too.
      const proxied = [`${nginx.url}/`, `${nginx.url.replace(/^http/, "ws")}/`];
      expect(network.urls.filter((url) => !proxied.some((prefix) => url.startsWith(prefix)) && !url.startsWith("data:") && !url.startsWith("blob:"))).toEqual([]);
      expect(network.urls.some((url) => new URL(url).pathname === "/graphql")).toBe(true);
      expect(network.urls).toContain(`${proxied[1]}graphql`);
      expect(pageErrors).toEqual([]);
    });
  });
});

describe.skipIf(skipNginxTests)("a replica killed (SIGKILL) under load, behind nginx", () => {
  let root: string;
  let simulator: RunningSimulator;
  let replicas: Replica[] = [];
  let nginx: RunningNginx;

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), "gateway-sigkill-"));
    // Long enough that calls are in flight on both replicas at the kill.
    simulator = await startSimulator({ apiKey: TEST_API_KEY, latencyMs: 150 });
    replicas = await startReplicas(build!.main, root, simulator, ["a", "b"]);
    nginx = await startNginx(replicas.map((replica) => replica.gateway.url));
  }, 60_000);
  afterAll(async () => {
    await nginx?.close();
    await stopReplicas(replicas);
    await simulator?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it("the survivor goes on answering, and every image answered before the kill still fetches with the same bytes", async () => {
    interface Outcome {
      startedAt: number;
      callId?: string;
      url?: string;
      hash?: string;
      failure?: string;
    }
    const outcomes: Outcome[] = [];
    let killedAt = Number.POSITIVE_INFINITY;
    let stop = false;
    const worker = async (id: number): Promise<void> => {
      for (let n = 0; !stop; n += 1) {
        const outcome: Outcome = { startedAt: Date.now() };
        outcomes.push(outcome);
        try {
          const response = await fetch(`${nginx.url}/graphql`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ query: GENERATE, variables: { input: { model: TEXT_MODEL, prompt: `worker ${id} call ${n}` } } }),
          });
          const text = await response.text();
          const body = response.headers.get("content-type")?.includes("json") ? (JSON.parse(text) as { data?: Generated; errors?: unknown[] }) : undefined;
          if (response.status !== 200 || !body?.data || body.errors) {
            outcome.failure = `HTTP ${response.status}: ${text.slice(0, 120)}`;
            continue;
          }
          const image = body.data.generateImages.images[0]!;
          // Fetched at once, as a client would: the bytes the later fetches must match.
          const fetched = await fetchBytes(image.url);
          if (fetched.status !== 200) {
            outcome.failure = `image HTTP ${fetched.status}`;
            continue;
          }
          Object.assign(outcome, { callId: body.data.generateImages.callId, url: image.url, hash: sha256(fetched.bytes) });
        } catch (error) {
          outcome.failure = String(error);
        }
      }
    };
    const workers = [0, 1, 2, 3].map(worker);
    const answered = (): Outcome[] => outcomes.filter((outcome) => outcome.hash !== undefined);

    const [victim, survivor] = replicas as [Replica, Replica];
    const deadline = Date.now() + 20_000;
    while ((await callIdsIn(victim.logFile)).length < 4 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    victim.gateway.child.kill("SIGKILL");
    expect(await victim.gateway.exited).toEqual({ code: null, signal: "SIGKILL" });
    // nginx learns that its kept-alive connections to the dead replica closed in its next turn of events;
    // a call it sends over one in that instant fails like a call in flight, and is not retried either.
    await new Promise((resolve) => setTimeout(resolve, 50));
    killedAt = Date.now();
    const answeredAtKill = answered().length;
    while (answered().length < answeredAtKill + 16 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    stop = true;
    await Promise.all(workers);

    const before = outcomes.filter((outcome) => outcome.startedAt < killedAt);
    const after = outcomes.filter((outcome) => outcome.startedAt >= killedAt);
    const victimCalls = new Set(await callIdsIn(victim.logFile));
    const survivorCalls = new Set(await callIdsIn(survivor.logFile));
    const answeredBefore = before.filter((outcome) => outcome.hash !== undefined);
    // Both replicas answered before the kill.
    expect(answeredBefore.some((outcome) => victimCalls.has(outcome.callId!))).toBe(true);
    expect(answeredBefore.some((outcome) => survivorCalls.has(outcome.callId!))).toBe(true);
    // Every answered call was logged by the replica that answered it, the killed one included.
    for (const outcome of answered()) expect(victimCalls.has(outcome.callId!) || survivorCalls.has(outcome.callId!)).toBe(true);
    // Only calls running on the victim at the kill may fail (at most one per worker, and one per worker in
    // the instant after it): nginx never sends a generation twice.
    const failedBefore = before.filter((outcome) => outcome.failure !== undefined);
    expect(failedBefore.length).toBeLessThanOrEqual(8);
    for (const outcome of failedBefore) expect(outcome.failure).toMatch(/^HTTP 502/);
    // After the kill the survivor answers everything: nginx passes over the dead replica.
    expect(after.filter((outcome) => outcome.failure !== undefined).map((outcome) => outcome.failure)).toEqual([]);
    expect(after.filter((outcome) => outcome.hash !== undefined).length).toBeGreaterThanOrEqual(16);
    for (const outcome of after.filter((o) => o.hash !== undefined)) expect(survivorCalls.has(outcome.callId!)).toBe(true);

    // No image answered before the kill is lost: the proxy and the survivor both serve it, unchanged.
    for (const outcome of answeredBefore) {
      const pathname = new URL(outcome.url!).pathname;
      const [proxied, direct] = await Promise.all([fetchBytes(`${nginx.url}${pathname}`), fetchBytes(`${survivor.gateway.url}${pathname}`)]);
      expect(proxied.status).toBe(200);
      expect(direct.status).toBe(200);
      expect(sha256(proxied.bytes)).toBe(outcome.hash);
      expect(sha256(direct.bytes)).toBe(outcome.hash);
    }
  }, 60_000);
});
