import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GENERATE, imageSlots, postJson, postMultipart, startHarness, type Harness } from "./support/harness.js";
import { dataUrlBytes, noisyPng, solidJpeg, solidPng } from "./support/images.js";

interface Payload {
  generateImages: {
    callId: string;
    provider: string;
    model: string;
    seed: number | null;
    images: Array<{ index: number; url: string; width: number; height: number; mimeType: string; bytes: number }>;
    timings: { inferenceSeconds: number | null; totalMs: number };
  };
}

describe("generateImages through the real HTTP server", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it("text-to-image: batch of 2 with a seed beyond Int, images kept and served by the gateway", async () => {
    const { status, body } = await postJson<Payload>(h.graphqlUrl, GENERATE, {
      input: { model: "Kwai-Kolors/Kolors", prompt: "a lighthouse at dusk", imageSize: "768x1024", batchSize: 2, seed: 9999999999, guidanceScale: 7.5 },
    });
    expect(body.errors).toBeUndefined();
    expect(status).toBe(200);
    const result = body.data!.generateImages;
    expect(result.provider).toBe("SILICONFLOW");
    expect(result.seed).toBe(9999999999);
    expect(result.images).toHaveLength(2);
    expect(result.timings.totalMs).toBeGreaterThan(0);

    const sent = h.simulator.received.at(-1)!.body;
    expect(sent).toMatchObject({ model: "Kwai-Kolors/Kolors", batch_size: 2, seed: 9999999999, image_size: "768x1024", guidance_scale: 7.5 });
    expect(sent).not.toHaveProperty("cfg");

    const hashes = new Set<string>();
    for (const image of result.images) {
      expect(image.url.startsWith(`${h.url}/images/`)).toBe(true);
      const response = await fetch(image.url);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("image/png");
      expect(response.headers.get("cache-control")).toContain("immutable");
      const bytes = Buffer.from(await response.arrayBuffer());
      expect(bytes.length).toBe(image.bytes);
      const meta = await sharp(bytes).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(["png", 768, 1024]);
      expect([image.width, image.height, image.mimeType]).toEqual([768, 1024, "image/png"]);
      hashes.add(image.url);
    }
    expect(hashes.size).toBe(2);
  });

  it("edit with three uploads: they reach SiliconFlow as image, image2, image3, in order and untouched", async () => {
    const uploads = [await solidPng(640, 480, "#ff0000"), await solidJpeg(500, 500, "#00ff00"), await noisyPng(320, 200)];
    const before = h.simulator.received.length;
    const { body } = await postMultipart<Payload>(
      h.graphqlUrl,
      GENERATE,
      { input: { model: "Qwen/Qwen-Image-Edit-2509", prompt: "merge these", cfg: 4, images: imageSlots(3) } },
      uploads.map((data, i) => ({ path: `variables.input.images.${i}`, data, name: `photo-${i}.bin`, type: "application/octet-stream" })),
    );
    expect(body.errors).toBeUndefined();
    expect(body.data!.generateImages.images).toHaveLength(1);
    expect(h.simulator.received.length).toBe(before + 1);
    const sent = h.simulator.received.at(-1)!.body;
    expect(sent).not.toHaveProperty("image_size");
    expect(sent).not.toHaveProperty("batch_size");
    expect(sent.cfg).toBe(4);
    const received = ["image", "image2", "image3"].map((field) => dataUrlBytes(sent[field]));
    expect(received.map((r) => r.mime)).toEqual(["image/png", "image/jpeg", "image/png"]);
    received.forEach((r, i) => expect(Buffer.compare(r.bytes, uploads[i]!)).toBe(0));
  });

  it("outputs are still served after SiliconFlow's URLs stop working", async () => {
    const { body } = await postJson<Payload>(h.graphqlUrl, GENERATE, { input: { model: "Qwen/Qwen-Image", prompt: "a red fox", seed: 42 } });
    const image = body.data!.generateImages.images[0];
    const before = Buffer.from(await (await fetch(image!.url)).arrayBuffer());
    h.simulator.forgetImages();
    const after = await fetch(image!.url);
    expect(after.status).toBe(200);
    expect(Buffer.compare(Buffer.from(await after.arrayBuffer()), before)).toBe(0);
    const etag = after.headers.get("etag")!;
    const cached = await fetch(image!.url, { headers: { "if-none-match": etag } });
    expect(cached.status).toBe(304);
    await cached.arrayBuffer();
    const traversal = await fetch(`${h.url}/images/..%2F..%2Fetc%2Fpasswd`);
    expect(traversal.status).toBe(404);
    await traversal.arrayBuffer();
  });

  it("the disk store serves one Range (206), a suffix range, 416 past the end, and the whole image when If-Range differs", async () => {
    const { body } = await postJson<Payload>(h.graphqlUrl, GENERATE, { input: { model: "Qwen/Qwen-Image", prompt: "ranges on disk", seed: 43 } });
    const image = body.data!.generateImages.images[0]!;
    const whole = Buffer.from(await (await fetch(image.url)).arrayBuffer());
    const part = await fetch(image.url, { headers: { range: "bytes=5-24" } });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe(`bytes 5-24/${whole.length}`);
    expect(part.headers.get("content-length")).toBe("20");
    expect(part.headers.get("accept-ranges")).toBe("bytes");
    expect(Buffer.from(await part.arrayBuffer()).equals(whole.subarray(5, 25))).toBe(true);
    const suffix = await fetch(image.url, { headers: { range: "bytes=-7" } });
    expect(Buffer.from(await suffix.arrayBuffer()).equals(whole.subarray(whole.length - 7))).toBe(true);
    const past = await fetch(image.url, { headers: { range: `bytes=${whole.length + 10}-` } });
    expect(past.status).toBe(416);
    expect(past.headers.get("content-range")).toBe(`bytes */${whole.length}`);
    await past.arrayBuffer();
    const stale = await fetch(image.url, { headers: { range: "bytes=0-3", "if-range": '"another"' } });
    expect(stale.status).toBe(200);
    expect((await stale.arrayBuffer()).byteLength).toBe(whole.length);
    // Several ranges are answered whole, as RFC 9110 allows.
    const several = await fetch(image.url, { headers: { range: "bytes=0-1,4-5" } });
    expect(several.status).toBe(200);
    await several.arrayBuffer();
  });

  it("dataUrl returns the kept image inline", async () => {
    const query = `mutation { generateImages(input: { model: "Qwen/Qwen-Image", prompt: "tiny", seed: 7 }) { images { url dataUrl } } }`;
    const { body } = await postJson<{ generateImages: { images: Array<{ url: string; dataUrl: string }> } }>(h.graphqlUrl, query);
    expect(body.errors).toBeUndefined();
    const image = body.data!.generateImages.images[0];
    const inline = dataUrlBytes(image!.dataUrl);
    const served = Buffer.from(await (await fetch(image!.url)).arrayBuffer());
    expect(inline.mime).toBe("image/png");
    expect(Buffer.compare(inline.bytes, served)).toBe(0);
  });

  it("refuses multipart without a CSRF preflight header, before reading it", async () => {
    const before = h.simulator.received.length;
    const response = await postMultipart(
      h.graphqlUrl,
      GENERATE,
      { input: { model: "Qwen/Qwen-Image-Edit", prompt: "x", images: imageSlots(1) } },
      [{ path: "variables.input.images.0", data: await solidPng(10, 10, "#fff") }],
      {},
    );
    expect(response.status).toBe(400);
    expect(response.body.errors?.[0]?.extensions?.code).toBe("BAD_REQUEST");
    expect(response.body.errors?.[0]?.message).toMatch(/CSRF/);
    expect(h.simulator.received.length).toBe(before);
  });
});

describe("input images are decoded, never trusted by name", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ config: { uploads: { maxBytes: 200_000, maxLongSide: 1024 } } });
  });
  afterAll(async () => {
    await h.close();
  });

  async function edit(data: Buffer, type = "image/png") {
    return postMultipart<Payload>(
      h.graphqlUrl,
      GENERATE,
      { input: { model: "Qwen/Qwen-Image-Edit", prompt: "edit", images: imageSlots(1) } },
      [{ path: "variables.input.images.0", data, type, name: "upload.png" }],
    );
  }

  it("converts GIF to PNG", async () => {
    const gif = await sharp({ create: { width: 40, height: 30, channels: 4, background: "#0000ff" } }).gif().toBuffer();
    const { body } = await edit(gif, "image/gif");
    expect(body.errors).toBeUndefined();
    const sent = dataUrlBytes(h.simulator.received.at(-1)!.body.image);
    expect(sent.mime).toBe("image/png");
    expect((await sharp(sent.bytes).metadata()).format).toBe("png");
    expect((await h.logLines()).at(-1)!.input_images[0]).toMatchObject({ source_format: "gif", converted: true, mime_type: "image/png" });
  });

  it.each([
    ["TIFF", () => sharp({ create: { width: 48, height: 32, channels: 3, background: "#884400" } }).tiff().toBuffer()],
    ["AVIF", () => sharp({ create: { width: 48, height: 32, channels: 3, background: "#884400" } }).avif().toBuffer()],
  ])("converts %s to PNG", async (_format, make) => {
    const { body } = await edit(await make(), "application/octet-stream");
    expect(body.errors).toBeUndefined();
    const sent = dataUrlBytes(h.simulator.received.at(-1)!.body.image);
    expect(sent.mime).toBe("image/png");
    const meta = await sharp(sent.bytes).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(["png", 48, 32]);
  });

  it("passes PNG, JPEG and WebP through untouched", async () => {
    const webp = await sharp({ create: { width: 40, height: 30, channels: 3, background: "#00aa55" } }).webp().toBuffer();
    const { body } = await edit(webp, "image/png");
    expect(body.errors).toBeUndefined();
    const sent = dataUrlBytes(h.simulator.received.at(-1)!.body.image);
    expect(sent.mime).toBe("image/webp");
    expect(Buffer.compare(sent.bytes, webp)).toBe(0);
  });

  it("honours EXIF orientation", async () => {
    const rotated = await solidJpeg(60, 40, "#123456", 6);
    const { body } = await edit(rotated, "image/jpeg");
    expect(body.errors).toBeUndefined();
    const sent = await sharp(dataUrlBytes(h.simulator.received.at(-1)!.body.image).bytes).metadata();
    expect([sent.width, sent.height]).toEqual([40, 60]);
    expect(sent.orientation ?? 1).toBe(1);
  });

  it("downscales an input whose long side exceeds the maximum", async () => {
    const big = await solidPng(2000, 1000, "#abcdef");
    const { body } = await edit(big);
    expect(body.errors).toBeUndefined();
    const sent = await sharp(dataUrlBytes(h.simulator.received.at(-1)!.body.image).bytes).metadata();
    expect([sent.width, sent.height]).toEqual([1024, 512]);
  });

  it.each([
    ["text posing as a PNG", Buffer.from("this is not an image at all"), /not an image/],
    ["an SVG", Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>'), /SVG/],
    ["a zero-byte file", Buffer.alloc(0), /empty/],
  ])("refuses %s with BAD_USER_INPUT on the field", async (_name, data, message) => {
    const before = h.simulator.received.length;
    const { body } = await edit(data);
    const error = body.errors?.[0];
    expect(error?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(error?.extensions?.field).toBe("input.images[0]");
    expect(error?.message).toMatch(message);
    expect(h.simulator.received.length).toBe(before);
  });

  it("refuses a truncated interlaced PNG (a statistics pass accepted these)", async () => {
    const interlaced = await sharp({ create: { width: 200, height: 150, channels: 3, background: "#000", noise: { type: "gaussian", mean: 128, sigma: 30 } } })
      .png({ progressive: true, compressionLevel: 1 })
      .toBuffer();
    expect(interlaced.length).toBeLessThan(200_000);
    const { body } = await edit(interlaced.subarray(0, Math.floor(interlaced.length * 0.6)));
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.images[0]" });
  });

  it("refuses a truncated PNG", async () => {
    const png = await noisyPng(200, 100);
    const { body } = await edit(png.subarray(0, Math.floor(png.length / 2)));
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.images[0]" });
  });

  it("refuses a file over MAX_UPLOAD_BYTES with PAYLOAD_TOO_LARGE, not half a file", async () => {
    const before = h.simulator.received.length;
    const big = await noisyPng(400, 400);
    expect(big.length).toBeGreaterThan(200_000);
    const { status, body } = await edit(big);
    expect(status).toBe(413);
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: "PAYLOAD_TOO_LARGE", field: "input.images[0]" });
    expect(h.simulator.received.length).toBe(before);
  });
});

describe("with no API key", () => {
  it("runs on the built-in simulator and says so in the payload", async () => {
    const h = await startHarness({ noKey: true });
    try {
      expect(h.gateway.provider).toBe("SIMULATOR");
      const { body } = await postJson<Payload>(h.graphqlUrl, GENERATE, { input: { model: "Qwen/Qwen-Image", prompt: "offline" } });
      expect(body.errors).toBeUndefined();
      expect(body.data!.generateImages.provider).toBe("SIMULATOR");
      const served = await fetch(body.data!.generateImages.images[0]!.url);
      expect(served.status).toBe(200);
      expect((await served.arrayBuffer()).byteLength).toBe(body.data!.generateImages.images[0]!.bytes);
    } finally {
      await h.close();
    }
  });
});
