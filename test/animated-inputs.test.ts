import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GENERATE, imageSlots, postMultipart, startHarness, type Harness } from "./support/harness.js";
import { dataUrlBytes } from "./support/images.js";

const WIDTH = 64;
const HEIGHT = 48;
const FRAMES = ["#ff0000", "#00ff00", "#0000ff", "#ffffff"];

/** An animation whose frames are solid colours, red first, so the frame that arrives upstream is known. */
async function animation(format: "webp" | "gif", width = WIDTH): Promise<Buffer> {
  const frames = await Promise.all(
    FRAMES.map((background) => sharp({ create: { width, height: HEIGHT, channels: 3, background } }).png().toBuffer()),
  );
  const joined = sharp(frames, { join: { animated: true } });
  const data = await (format === "webp" ? joined.webp({ lossless: true }) : joined.gif()).toBuffer();
  expect((await sharp(data).metadata()).pages).toBe(FRAMES.length);
  return data;
}

async function centre(data: Buffer): Promise<number[]> {
  const pixel = await sharp(data)
    .extract({ left: WIDTH / 2, top: HEIGHT / 2, width: 1, height: 1 })
    .removeAlpha()
    .raw()
    .toBuffer();
  return [...pixel];
}

describe("animated inputs: only the first frame is taken, for WebP as for GIF", () => {
  let h: Harness;
  // Exactly one frame's pixels: the frames together are four times over.
  const maxInputPixels = WIDTH * HEIGHT;
  beforeAll(async () => {
    h = await startHarness({ config: { uploads: { maxInputPixels } } });
  });
  afterAll(async () => {
    await h.close();
  });

  const edit = (data: Buffer) =>
    postMultipart(h.graphqlUrl, GENERATE, { input: { model: "Qwen/Qwen-Image-Edit", prompt: "edit", images: imageSlots(1) } }, [
      { path: "variables.input.images.0", data, name: "moving" },
    ]);

  it.each([
    ["webp", "image/webp"],
    ["gif", "image/png"],
  ] as const)("an animated %s reaches SiliconFlow as its first frame alone", async (format, mime) => {
    const { body } = await edit(await animation(format));
    expect(body.errors).toBeUndefined();
    const sent = dataUrlBytes(h.simulator.received.at(-1)!.body.image);
    expect(sent.mime).toBe(mime);
    const meta = await sharp(sent.bytes).metadata();
    expect(meta.pages ?? 1).toBe(1);
    expect([meta.width, meta.height]).toEqual([WIDTH, HEIGHT]);
    // Lossy WebP drifts a little from pure red: near enough, and far from the other frames.
    const [r, g, b] = await centre(sent.bytes);
    expect(r).toBeGreaterThan(240);
    expect(g! + b!).toBeLessThan(20);
    expect((await h.logLines()).at(-1)!.input_images[0]).toMatchObject({ source_format: format, converted: true, mime_type: mime });
  });

  it.each(["webp", "gif"] as const)("an animated %s whose first frame is over the pixel limit is refused", async (format) => {
    const data = await animation(format, WIDTH + 1);
    const before = h.simulator.received.length;
    const { body } = await edit(data);
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.images[0]" });
    expect(body.errors?.[0]?.message).toMatch(new RegExp(`${maxInputPixels} pixels`));
    expect(h.simulator.received.length).toBe(before);
  });
});
