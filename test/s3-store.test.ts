import { createHash } from "node:crypto";
import { readdir } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson, startHarness, type Harness } from "./support/harness.js";
import { dataUrlBytes, noisyPng } from "./support/images.js";
import { startS3, type RunningS3 } from "./support/s3rver.js";

const GENERATE = /* GraphQL */ `
  mutation Generate($input: GenerateImagesInput!) {
    generateImages(input: $input) { callId images { url bytes mimeType dataUrl } }
  }
`;
interface Payload {
  generateImages: { callId: string; images: Array<{ url: string; bytes: number; mimeType: string; dataUrl: string }> };
}

const fileNameOf = (url: string): string => new URL(url).pathname.split("/").pop()!;
const sha256 = (data: Uint8Array): string => createHash("sha256").update(data).digest("hex");

async function fetchBytes(url: string, headers: Record<string, string> = {}): Promise<{ response: Response; bytes: Buffer }> {
  const response = await fetch(url, { headers });
  return { response, bytes: Buffer.from(await response.arrayBuffer()) };
}

function clientOf(s3: RunningS3): S3Client {
  return new S3Client({ endpoint: s3.endpoint, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } });
}

async function objectKeys(s3: RunningS3, bucket: string): Promise<string[]> {
  const client = clientOf(s3);
  try {
    const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
    return (listed.Contents ?? []).map((object) => object.Key!).sort();
  } finally {
    client.destroy();
  }
}

describe("images in S3-compatible storage (s3rver on loopback)", () => {
  let s3: RunningS3;
  let first: Harness;
  let second: Harness;

  beforeAll(async () => {
    s3 = await startS3(["images"]);
    first = await startHarness({ config: s3.settings("images", "gw") });
    // Another gateway with its own DATA_DIR: whatever it serves can only come from the bucket.
    second = await startHarness({ config: s3.settings("images", "gw") });
  });
  afterAll(async () => {
    await first?.close();
    await second?.close();
    await s3?.close();
  });

  it("a generation is kept in the bucket, and another gateway sharing it serves the simulator's bytes", async () => {
    const answer = await postJson<Payload>(first.graphqlUrl, GENERATE, { input: { model: "Kwai-Kolors/Kolors", prompt: "a lighthouse", seed: 5 } });
    expect(answer.body.errors).toBeUndefined();
    const image = answer.body.data!.generateImages.images[0]!;
    const fileName = fileNameOf(image.url);

    const [line] = await first.logLines();
    const upstreamUrl = (line as unknown as { output_images: Array<{ upstream_url: string }> }).output_images[0]!.upstream_url;
    const produced = await fetchBytes(upstreamUrl);
    expect(produced.response.status).toBe(200);

    const fromOther = await fetchBytes(`${second.url}/images/${fileName}`);
    expect(fromOther.response.status).toBe(200);
    expect(sha256(fromOther.bytes)).toBe(sha256(produced.bytes));
    expect(fileName).toBe(`${sha256(produced.bytes)}.png`);
    expect(fromOther.response.headers.get("content-type")).toBe("image/png");
    expect(fromOther.response.headers.get("content-length")).toBe(String(produced.bytes.length));
    expect(fromOther.response.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(fromOther.response.headers.get("etag")).toBe(`"${sha256(produced.bytes)}"`);
    // dataUrl reads from the bucket too.
    expect(sha256(dataUrlBytes(image.dataUrl).bytes)).toBe(sha256(produced.bytes));
    // Under the prefix, content-addressed, and no temporary left behind.
    expect(await objectKeys(s3, "images")).toEqual([`gw/images/${fileName}`]);
    // Nothing went to either gateway's disk.
    expect(await readdir(first.dataDir).catch(() => [])).toEqual([]);
    expect(await readdir(second.dataDir).catch(() => [])).toEqual([]);
  });

  it("ETag gives 304, one range gives 206 with those bytes, a range past the end gives 416", async () => {
    const answer = await postJson<Payload>(first.graphqlUrl, GENERATE, { input: { model: "Kwai-Kolors/Kolors", prompt: "ranges", seed: 6 } });
    const { url: answered, bytes: size } = answer.body.data!.generateImages.images[0]!;
    const fileName = fileNameOf(answered);
    const url = `${second.url}/images/${fileName}`;
    const whole = await fetchBytes(url);
    const etag = whole.response.headers.get("etag")!;

    const conditional = await fetchBytes(url, { "if-none-match": etag });
    expect(conditional.response.status).toBe(304);
    expect(conditional.bytes.length).toBe(0);

    const part = await fetchBytes(url, { range: "bytes=10-109" });
    expect(part.response.status).toBe(206);
    expect(part.response.headers.get("content-range")).toBe(`bytes 10-109/${size}`);
    expect(part.response.headers.get("content-length")).toBe("100");
    expect(part.bytes.equals(whole.bytes.subarray(10, 110))).toBe(true);

    const suffix = await fetchBytes(url, { range: "bytes=-20" });
    expect(suffix.response.status).toBe(206);
    expect(suffix.bytes.equals(whole.bytes.subarray(size - 20))).toBe(true);

    const past = await fetchBytes(url, { range: `bytes=${size}-` });
    expect(past.response.status).toBe(416);
    expect(past.response.headers.get("content-range")).toBe(`bytes */${size}`);

    // A validator that is not this image's asks for the whole of it.
    const stale = await fetchBytes(url, { range: "bytes=0-9", "if-range": '"something-else"' });
    expect(stale.response.status).toBe(200);
    expect(stale.bytes.length).toBe(size);

    expect((await fetchBytes(`${second.url}/images/${"0".repeat(64)}.png`)).response.status).toBe(404);
  });

  it("a missing bucket keeps the gateway up but not ready, naming the bucket, and refuses generations", async () => {
    const missing = await startHarness({ config: s3.settings("no-such-bucket") });
    try {
      const ready = await fetch(`${missing.url}/ready`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { reason: string }).reason).toMatch(/bucket no-such-bucket does not exist/);
      expect((await fetch(`${missing.url}/health`)).status).toBe(200);

      const refused = await postJson<Payload>(missing.graphqlUrl, GENERATE, { input: { model: "Kwai-Kolors/Kolors", prompt: "nowhere to keep it" } });
      expect(refused.body.errors?.[0]?.extensions?.code).toBe("STORAGE_UNAVAILABLE");
      expect(refused.body.errors?.[0]?.message).toMatch(/no-such-bucket/);
      expect(missing.simulator.stats().generations).toBe(0);
      const [line] = await missing.logLines();
      expect(line).toMatchObject({ status: "failed", error_code: "STORAGE_UNAVAILABLE" });
    } finally {
      await missing.close();
    }
  });

  it.each([
    ["with its length announced, as one streamed PutObject", true],
    ["without a length (chunked), as a multipart upload of 5 MiB parts", false],
  ])("a 12 MB output goes up %s, and comes back the same", async (_how, announced) => {
    // Noise, served by a loopback server the answer points at, in 64 KiB writes.
    const big = await noisyPng(2000, 2000);
    expect(big.length).toBeGreaterThan(10 * 1024 * 1024);
    const origin: Server = createServer((_request, response) => {
      response.writeHead(200, { "content-type": "image/png", ...(announced ? { "content-length": big.length } : {}) });
      for (let offset = 0; offset < big.length; offset += 65536) response.write(big.subarray(offset, offset + 65536));
      response.end();
    });
    await new Promise<void>((resolve) => origin.listen(0, "127.0.0.1", resolve));
    try {
      first.simulator.addFault({ fault: { kind: "output-urls", urls: [`http://127.0.0.1:${(origin.address() as AddressInfo).port}/big.png`] }, target: "generation", times: 1 });
      const answer = await postJson<Payload>(first.graphqlUrl, GENERATE.replace(" dataUrl", ""), { input: { model: "Kwai-Kolors/Kolors", prompt: "big" } });
      expect(answer.body.errors).toBeUndefined();
      const image = answer.body.data!.generateImages.images[0]!;
      expect(fileNameOf(image.url)).toBe(`${sha256(big)}.png`);
      const served = await fetchBytes(`${second.url}/images/${fileNameOf(image.url)}`);
      expect(sha256(served.bytes)).toBe(sha256(big));
      expect((await objectKeys(s3, "images")).filter((key) => key.startsWith("gw/tmp/"))).toEqual([]);
    } finally {
      first.simulator.clearFaults();
      await new Promise((resolve) => origin.close(resolve));
    }
  });

  it("a download that fails leaves nothing in the bucket and fails the call with the upstream's code", async () => {
    const before = await objectKeys(s3, "images");
    first.simulator.addFault({ fault: { kind: "reset" }, target: "download" });
    try {
      const answer = await postJson<Payload>(first.graphqlUrl, GENERATE, { input: { model: "Kwai-Kolors/Kolors", prompt: "lost on the way" } });
      expect(answer.body.errors?.[0]?.extensions?.code).toBe("UPSTREAM_UNAVAILABLE");
    } finally {
      first.simulator.clearFaults();
    }
    expect(await objectKeys(s3, "images")).toEqual(before);
  });

  it("a download cut off halfway, while its bytes stream into the bucket, fails with the upstream's code and leaves nothing", async () => {
    const before = await objectKeys(s3, "images");
    const big = await noisyPng(1200, 1200);
    const origin: Server = createServer((_request, response) => {
      response.writeHead(200, { "content-type": "image/png", "content-length": big.length });
      response.write(big.subarray(0, big.length >> 1), () => setTimeout(() => response.destroy(), 50));
    });
    await new Promise<void>((resolve) => origin.listen(0, "127.0.0.1", resolve));
    try {
      first.simulator.addFault({ fault: { kind: "output-urls", urls: [`http://127.0.0.1:${(origin.address() as AddressInfo).port}/cut.png`] }, target: "generation", times: 1 });
      const answer = await postJson<Payload>(first.graphqlUrl, GENERATE, { input: { model: "Kwai-Kolors/Kolors", prompt: "cut" } });
      expect(answer.body.errors?.[0]?.extensions?.code).toBe("UPSTREAM_UNAVAILABLE");
    } finally {
      first.simulator.clearFaults();
      await new Promise((resolve) => origin.close(resolve));
    }
    expect(await objectKeys(s3, "images")).toEqual(before);
  });

  it("a start removes temporaries more than 10 minutes older than itself (a run killed mid-upload), and keeps fresh ones", async () => {
    const client = clientOf(s3);
    try {
      await client.send(new PutObjectCommand({ Bucket: "images", Key: "left/tmp/0b7e3c1a-0000-4000-8000-000000000001", Body: "half an image" }));
      const keys = async () => (await objectKeys(s3, "images")).filter((key) => key.startsWith("left/"));
      // A start now: the temporary may be another replica's, between its upload and its copy.
      await (await startHarness({ config: s3.settings("images", "left") })).close();
      expect(await keys()).toEqual(["left/tmp/0b7e3c1a-0000-4000-8000-000000000001"]);
      // A start 11 minutes later: it is an abandoned one.
      const later = Date.now() + 11 * 60_000;
      await (await startHarness({ config: s3.settings("images", "left"), now: () => later })).close();
      expect(await keys()).toEqual([]);
    } finally {
      client.destroy();
    }
  });

  it("IMAGE_URL_MODE=presigned hands out URLs of the store that fetch the same bytes, and the route redirects to a fresh one", async () => {
    const presigned = await startHarness({ config: s3.settings("images", "gw"), env: { IMAGE_URL_MODE: "presigned", IMAGE_URL_EXPIRY_SECONDS: "120" } });
    try {
      const answer = await postJson<Payload>(presigned.graphqlUrl, GENERATE, { input: { model: "Kwai-Kolors/Kolors", prompt: "signed", seed: 8 } });
      expect(answer.body.errors).toBeUndefined();
      const image = answer.body.data!.generateImages.images[0]!;
      expect(image.url.startsWith(`${s3.endpoint}/images/gw/images/`)).toBe(true);
      expect(new URL(image.url).searchParams.get("X-Amz-Expires")).toBe("120");
      const direct = await fetchBytes(image.url);
      expect(direct.response.status).toBe(200);
      const fileName = fileNameOf(image.url);
      expect(`${sha256(direct.bytes)}.png`).toBe(fileName);
      expect(sha256(dataUrlBytes(image.dataUrl).bytes)).toBe(sha256(direct.bytes));

      const redirect = await fetch(`${presigned.url}/images/${fileName}`, { redirect: "manual" });
      expect(redirect.status).toBe(302);
      expect(redirect.headers.get("cache-control")).toBe("no-store");
      const followed = await fetchBytes(redirect.headers.get("location")!);
      expect(sha256(followed.bytes)).toBe(sha256(direct.bytes));
      expect((await fetch(`${presigned.url}/images/${"1".repeat(64)}.png`, { redirect: "manual" })).status).toBe(404);

      // The call log keeps the gateway's own URL: a presigned one is a credential while it lasts.
      const [line] = (await presigned.logLines()) as unknown as Array<{ output_images: Array<{ url: string }> }>;
      expect(line!.output_images[0]!.url).toBe(`${presigned.url}/images/${fileName}`);
    } finally {
      await presigned.close();
    }
  });
});

describe("the S3 store going away after start", () => {
  it("/images answers 503 with Retry-After, not 404 or a crash, and says why in the application log", async () => {
    const s3 = await startS3(["gone"]);
    const appLog: string[] = [];
    const h = await startHarness({ config: s3.settings("gone"), appLog: { write: (line) => void appLog.push(line) } });
    try {
      const answer = await postJson<Payload>(h.graphqlUrl, GENERATE, { input: { model: "Kwai-Kolors/Kolors", prompt: "soon unreachable" } });
      const url = answer.body.data!.generateImages.images[0]!.url;
      await s3.close();
      const response = await fetch(url);
      expect(response.status).toBe(503);
      expect(response.headers.get("retry-after")).toBe("5");
      expect(((await response.json()) as { error: string }).error).toMatch(/image store is unavailable/);
      expect(appLog.join("")).toMatch(/the image store \(bucket gone\) could not look up an image/);
    } finally {
      await h.close();
    }
  });
});
