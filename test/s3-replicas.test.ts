import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildGateway, spawnGateway, type ChildGateway } from "./support/child-gateway.js";
import { GENERATE, postJson, startHarness, type Harness } from "./support/harness.js";
import { startS3, type RunningS3 } from "./support/s3rver.js";

interface Payload {
  generateImages: { images: Array<{ url: string }> };
}

const sha256 = (data: Uint8Array): string => createHash("sha256").update(data).digest("hex");

describe("two gateway processes sharing one bucket", () => {
  let s3: RunningS3;
  let build: Awaited<ReturnType<typeof buildGateway>>;
  let root: string;
  let inProcess: Harness;
  let child: ChildGateway;

  beforeAll(async () => {
    s3 = await startS3(["shared"]);
    build = await buildGateway();
    root = await mkdtemp(path.join(tmpdir(), "s3-replica-"));
    inProcess = await startHarness({ config: s3.settings("shared", "replicas") });
    child = await spawnGateway(build.main, {
      LOG_DIR: path.join(root, "logs"),
      DATA_DIR: path.join(root, "data"),
      LOG_LEVEL: "info",
      IMAGE_STORE: "s3",
      S3_BUCKET: "shared",
      S3_PREFIX: "replicas",
      S3_ENDPOINT: s3.endpoint,
      S3_FORCE_PATH_STYLE: "true",
      S3_ACCESS_KEY_ID: "S3RVER",
      S3_SECRET_ACCESS_KEY: "S3RVER",
    });
  }, 90_000);
  afterAll(async () => {
    child?.child.kill("SIGTERM");
    await child?.exited;
    await inProcess?.close();
    await s3?.close();
    await build?.cleanup();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it("an image generated through one is served by the other process, byte for byte, and the other's generations are served back", async () => {
    const here = await postJson<Payload>(inProcess.graphqlUrl, GENERATE, { input: { model: "Kwai-Kolors/Kolors", prompt: "from the first", seed: 1 } });
    const name = new URL(here.body.data!.generateImages.images[0]!.url).pathname;
    const original = Buffer.from(await (await fetch(`${inProcess.url}${name}`)).arrayBuffer());
    const served = await fetch(`${child.url}${name}`);
    expect(served.status).toBe(200);
    const bytes = Buffer.from(await served.arrayBuffer());
    expect(sha256(bytes)).toBe(sha256(original));
    expect(name).toBe(`/images/${sha256(original)}.png`);

    // The child has its own simulator (no key): what it generates, the first serves.
    const there = await postJson<Payload>(`${child.url}/graphql`, GENERATE, { input: { model: "Kwai-Kolors/Kolors", prompt: "from the second", seed: 2 } });
    expect(there.body.errors).toBeUndefined();
    const theirs = new URL(there.body.data!.generateImages.images[0]!.url).pathname;
    const back = await fetch(`${inProcess.url}${theirs}`);
    expect(back.status).toBe(200);
    expect(`/images/${sha256(Buffer.from(await back.arrayBuffer()))}.png`).toBe(theirs);
    expect((await fetch(`${child.url}/ready`)).status).toBe(200);
  });
});
