import { randomBytes } from "node:crypto";
import sharp from "sharp";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { builtinModels, startSimulator, type RunningSimulator } from "../src/simulator/simulator.js";

const key = "sk-simulator-test-key-0123456789";
const bearer = { authorization: `Bearer ${key}` };

interface GenerationReply {
  images: { url: string }[];
  data: { url: string }[];
  timings: { inference: number };
  seed: number;
  created: number;
  shared_id: string;
}

function post(
  sim: RunningSimulator,
  body: unknown,
  headers: Record<string, string> = bearer,
  signal?: AbortSignal,
): Promise<Response> {
  return fetch(`${sim.url}/images/generations`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
    signal,
  });
}

async function generate(sim: RunningSimulator, body: unknown): Promise<{ reply: GenerationReply; response: Response }> {
  const response = await post(sim, body);
  const text = await response.text();
  if (response.status !== 200) throw new Error(`expected 200, got ${response.status}: ${text}`);
  return { reply: JSON.parse(text) as GenerationReply, response };
}

async function download(url: string): Promise<Buffer> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toBe("image/png");
  const bytes = Buffer.from(await response.arrayBuffer());
  expect(Number(response.headers.get("content-length"))).toBe(bytes.length);
  return bytes;
}

async function errorBody(response: Response): Promise<unknown> {
  return JSON.parse(await response.text());
}

function dataUrl(bytes: Buffer, mime: "png" | "jpeg" | "webp"): string {
  return `data:image/${mime};base64,${bytes.toString("base64")}`;
}

/** Polls until the condition holds; fails after the bound instead of trusting a fixed sleep. */
async function waitFor(condition: () => boolean | Promise<boolean>, boundMs = 5_000): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${boundMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function pixels(png: Buffer) {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return {
    info,
    at(x: number, y: number): [number, number, number] {
      const i = (y * info.width + x) * info.channels;
      return [data[i]!, data[i + 1]!, data[i + 2]!];
    },
  };
}

const solid = (width: number, height: number, background: string) =>
  sharp({ create: { width, height, channels: 3, background } });

let sim: RunningSimulator;

beforeAll(async () => {
  sim = await startSimulator({ apiKey: key, maxReceived: 10_000 });
});
afterEach(() => sim.clearFaults());
afterAll(async () => {
  await sim.close();
});

describe("auth", () => {
  it.each([
    ["no header", {}],
    ["a wrong key", { authorization: "Bearer sk-wrong" }],
    ["a non-bearer scheme", { authorization: `Basic ${key}` }],
  ])("refuses %s with 401 and the bare string body", async (_name, headers) => {
    const response = await post(sim, { model: "Qwen/Qwen-Image", prompt: "a cat" }, headers);
    expect(response.status).toBe(401);
    expect(await response.text()).toBe('"Invalid token"');
  });

  it("accepts any non-empty bearer token when no key is configured", async () => {
    const open = await startSimulator();
    try {
      const ok = await post(open, { model: "Qwen/Qwen-Image", prompt: "a cat" }, { authorization: "Bearer anything" });
      expect(ok.status).toBe(200);
      const empty = await post(open, { model: "Qwen/Qwen-Image", prompt: "a cat" }, { authorization: "Bearer " });
      expect(empty.status).toBe(401);
    } finally {
      await open.close();
    }
  });
});

describe("validation", () => {
  it("refuses an unknown model with code 20012", async () => {
    const response = await post(sim, { model: "nope/nope", prompt: "a cat" });
    expect(response.status).toBe(400);
    expect(await errorBody(response)).toEqual({
      code: 20012,
      message: "Model does not exist. Please check it carefully.",
      data: null,
    });
  });

  const png = dataUrl(Buffer.from("not really a png"), "png");
  it.each<[string, Record<string, unknown>, RegExp]>([
    ["missing prompt", { model: "Qwen/Qwen-Image" }, /prompt/],
    ["blank prompt", { model: "Qwen/Qwen-Image", prompt: "   " }, /prompt/],
    ["a size the model does not offer", { model: "Qwen/Qwen-Image", prompt: "p", image_size: "1024x1024" }, /image_size/],
    ["a malformed size", { model: "Kwai-Kolors/Kolors", prompt: "p", image_size: "big" }, /image_size/],
    ["image_size for an edit model", { model: "Qwen/Qwen-Image-Edit", prompt: "p", image_size: "1024x1024", image: png }, /image_size/],
    ["batch_size 5 for Kolors", { model: "Kwai-Kolors/Kolors", prompt: "p", batch_size: 5 }, /batch_size.*1 and 4/],
    ["batch_size 2 for Qwen-Image", { model: "Qwen/Qwen-Image", prompt: "p", batch_size: 2 }, /batch_size/],
    ["batch_size 0", { model: "Kwai-Kolors/Kolors", prompt: "p", batch_size: 0 }, /batch_size/],
    ["num_inference_steps 0", { model: "Qwen/Qwen-Image", prompt: "p", num_inference_steps: 0 }, /num_inference_steps/],
    ["num_inference_steps 101", { model: "Qwen/Qwen-Image", prompt: "p", num_inference_steps: 101 }, /num_inference_steps/],
    ["guidance_scale 21", { model: "Kwai-Kolors/Kolors", prompt: "p", guidance_scale: 21 }, /guidance_scale/],
    ["guidance_scale as a string", { model: "Kwai-Kolors/Kolors", prompt: "p", guidance_scale: "7.5" }, /guidance_scale/],
    ["cfg 0.05", { model: "Qwen/Qwen-Image", prompt: "p", cfg: 0.05 }, /cfg/],
    ["cfg 20.5", { model: "Qwen/Qwen-Image", prompt: "p", cfg: 20.5 }, /cfg/],
    ["a negative seed", { model: "Qwen/Qwen-Image", prompt: "p", seed: -1 }, /seed/],
    ["seed 10^10", { model: "Qwen/Qwen-Image", prompt: "p", seed: 10_000_000_000 }, /seed/],
    ["a fractional seed", { model: "Qwen/Qwen-Image", prompt: "p", seed: 1.5 }, /seed/],
    ["an edit without image", { model: "Qwen/Qwen-Image-Edit", prompt: "p" }, /image is required/],
    ["image2 for Qwen-Image-Edit", { model: "Qwen/Qwen-Image-Edit", prompt: "p", image: png, image2: png }, /image2/],
    ["image2 for Kolors", { model: "Kwai-Kolors/Kolors", prompt: "p", image: png, image2: png }, /image2/],
    ["image for a text-only model", { model: "Qwen/Qwen-Image", prompt: "p", image: png }, /input images/],
    ["an image that is not a URL", { model: "Qwen/Qwen-Image-Edit", prompt: "p", image: "hello" }, /image must be/],
    ["a GIF data URL", { model: "Qwen/Qwen-Image-Edit", prompt: "p", image: "data:image/gif;base64,R0lGOD" }, /image must be/],
    ["an undecodable image", { model: "Qwen/Qwen-Image-Edit", prompt: "p", image: png }, /could not be decoded/],
  ])("refuses %s with code 20015", async (_name, body, message) => {
    const response = await post(sim, body);
    expect(response.status).toBe(400);
    const parsed = (await errorBody(response)) as { code: number; message: string; data: unknown };
    expect(parsed.code).toBe(20015);
    expect(parsed.data).toBeNull();
    expect(parsed.message).toMatch(message);
  });

  it("refuses invalid JSON and non-object bodies with 20015", async () => {
    const invalid = await post(sim, "{not json");
    expect(invalid.status).toBe(400);
    expect(await errorBody(invalid)).toMatchObject({ code: 20015, message: "Invalid JSON" });
    const array = await post(sim, "[1,2]");
    expect(array.status).toBe(400);
    expect(await errorBody(array)).toMatchObject({ code: 20015 });
  });

  it("ignores a guidance knob the model does not read, as the real API reportedly does", async () => {
    const { reply } = await generate(sim, { model: "Kwai-Kolors/Kolors", prompt: "p", cfg: 999, seed: 1 });
    expect(reply.images).toHaveLength(1);
  });

  it("refuses a body over the limit with 413", async () => {
    const small = await startSimulator({ maxBodyBytes: 1024 });
    try {
      const response = await post(small, { model: "Qwen/Qwen-Image", prompt: "x".repeat(4096) }, { authorization: "Bearer t" });
      expect(response.status).toBe(413);
      expect(small.received).toHaveLength(1);
    } finally {
      await small.close();
    }
  });
});

describe("text-to-image", () => {
  it("makes one real PNG of the requested size per batch item", async () => {
    const { reply, response } = await generate(sim, {
      model: "Kwai-Kolors/Kolors",
      prompt: "a red fox in snow",
      image_size: "768x1024",
      batch_size: 2,
      seed: 42,
    });
    expect(response.headers.get("x-siliconcloud-trace-id")).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(reply.images).toHaveLength(2);
    expect(reply.data).toEqual(reply.images);
    expect(reply.seed).toBe(42);
    expect(reply.timings.inference).toBeGreaterThan(0);
    expect(Math.abs(reply.created - Date.now() / 1000)).toBeLessThan(60);
    expect(reply.shared_id).toEqual(expect.any(String));

    const [first, second] = await Promise.all(reply.images.map((image) => download(image.url)));
    for (const png of [first, second]) {
      const meta = await sharp(png).metadata();
      expect(meta).toMatchObject({ format: "png", width: 768, height: 1024 });
    }
    expect(first!.equals(second!)).toBe(false);
    for (const image of reply.images) {
      expect(image.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/files\/[0-9a-f]{32}\.png\?expires=\d+&sig=[0-9a-f]{64}$/);
    }
  });

  it("uses the model's default size and picks a seed when none is given", async () => {
    const { reply } = await generate(sim, { model: "Qwen/Qwen-Image", prompt: "a lighthouse" });
    expect(Number.isInteger(reply.seed)).toBe(true);
    expect(reply.seed).toBeGreaterThanOrEqual(0);
    expect(reply.seed).toBeLessThanOrEqual(9_999_999_999);
    const meta = await sharp(await download(reply.images[0]!.url)).metadata();
    expect(meta).toMatchObject({ width: 1328, height: 1328 });
  });

  it("accepts a seed above 2^31 (SiliconFlow's range is wider than a GraphQL Int)", async () => {
    const { reply } = await generate(sim, { model: "Tongyi-MAI/Z-Image-Turbo", prompt: "p", seed: 9_999_999_999 });
    expect(reply.seed).toBe(9_999_999_999);
  });

  it("is deterministic in seed and prompt", async () => {
    const body = { model: "Tongyi-MAI/Z-Image-Turbo", prompt: "a quiet harbour", image_size: "1200x896", seed: 7 };
    const bytesOf = async (b: Record<string, unknown>) => download((await generate(sim, b)).reply.images[0]!.url);
    const a = await bytesOf(body);
    const again = await bytesOf(body);
    const otherSeed = await bytesOf({ ...body, seed: 8 });
    const otherPrompt = await bytesOf({ ...body, prompt: "a busy harbour" });
    expect(again.equals(a)).toBe(true);
    expect(otherSeed.equals(a)).toBe(false);
    expect(otherPrompt.equals(a)).toBe(false);
  });

  it("reports latencyMs in timings.inference and actually waits", async () => {
    const slow = await startSimulator({ latencyMs: 300 });
    try {
      const started = Date.now();
      const response = await post(slow, { model: "Qwen/Qwen-Image", prompt: "p" }, { authorization: "Bearer t" });
      expect(response.status).toBe(200);
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      const reply = (await response.json()) as GenerationReply;
      expect(reply.timings.inference).toBeGreaterThanOrEqual(0.3);
    } finally {
      await slow.close();
    }
  });
});

describe("edits", () => {
  it("derives the output from the first input and shows the others as thumbnails", async () => {
    // Left half red, right half blue, 2:1: the output must keep both the layout and the aspect.
    const red = await solid(300, 300, "#ff0000").png().toBuffer();
    const first = await solid(600, 300, "#0000ff").composite([{ input: red, left: 0, top: 0 }]).png().toBuffer();
    const second = await solid(200, 200, "#00ff00").jpeg().toBuffer();
    const third = await solid(200, 200, "#ffff00").webp().toBuffer();
    const { reply } = await generate(sim, {
      model: "Qwen/Qwen-Image-Edit-2509",
      prompt: "make it evening",
      image: dataUrl(first, "png"),
      image2: dataUrl(second, "jpeg"),
      image3: dataUrl(third, "webp"),
      seed: 3,
    });
    expect(reply.images).toHaveLength(1);
    const out = await pixels(await download(reply.images[0]!.url));
    expect(out.info).toMatchObject({ width: 1024, height: 512 });

    const [lr, lg, lb] = out.at(256, 256);
    expect(lr).toBeGreaterThan(lb + 100);
    expect(lr).toBeGreaterThan(lg + 100);
    // The seeded tint moves hues a little (pure blue leans towards violet for some seeds): margins hold for any seed.
    const [rr, rg, rb] = out.at(700, 400);
    expect(rb).toBeGreaterThan(rr + 60);
    expect(rb).toBeGreaterThan(rg + 100);
    // Thumbnails run down the right edge, top first: image2 (green) then image3 (yellow).
    const [gr, gg, gb] = out.at(940, 84);
    expect(gg).toBeGreaterThan(gr + 100);
    expect(gg).toBeGreaterThan(gb + 100);
    const [yr, yg, yb] = out.at(940, 232);
    expect(Math.min(yr, yg)).toBeGreaterThan(yb + 100);
  });

  it("takes three inputs of about 4 MB each (a ~16 MB body)", async () => {
    // Random pixels do not compress: each PNG is about 3.6 MB, about 4.8 MB once base64-encoded.
    const noisy = () =>
      sharp(randomBytes(1100 * 1100 * 3), { raw: { width: 1100, height: 1100, channels: 3 } })
        .png({ compressionLevel: 1 })
        .toBuffer();
    const inputs = await Promise.all([noisy(), noisy(), noisy()]);
    expect(inputs[0].length).toBeGreaterThan(3_000_000);
    const { reply } = await generate(sim, {
      model: "Qwen/Qwen-Image-Edit-2509",
      prompt: "p",
      image: dataUrl(inputs[0], "png"),
      image2: dataUrl(inputs[1], "png"),
      image3: dataUrl(inputs[2], "png"),
    });
    const meta = await sharp(await download(reply.images[0]!.url)).metadata();
    expect(meta).toMatchObject({ width: 1024, height: 1024 });
  });

  it("fetches an http(s) input image and refuses one that cannot be fetched", async () => {
    const source = await generate(sim, { model: "Kwai-Kolors/Kolors", prompt: "source", image_size: "720x1280", seed: 5 });
    const { reply } = await generate(sim, { model: "Qwen/Qwen-Image-Edit", prompt: "p", image: source.reply.images[0]!.url });
    expect(await sharp(await download(reply.images[0]!.url)).metadata()).toMatchObject({ width: 576, height: 1024 });

    const missing = await post(sim, { model: "Qwen/Qwen-Image-Edit", prompt: "p", image: `${sim.url}/nowhere.png` });
    expect(missing.status).toBe(400);
    expect(await errorBody(missing)).toMatchObject({ code: 20015, message: expect.stringMatching(/could not be downloaded/) });
  });

  it("gives Kolors' optional image the requested size", async () => {
    const input = await solid(500, 500, "#123456").png().toBuffer();
    const { reply } = await generate(sim, {
      model: "Kwai-Kolors/Kolors",
      prompt: "p",
      image_size: "960x1280",
      image: dataUrl(input, "png"),
    });
    expect(await sharp(await download(reply.images[0]!.url)).metadata()).toMatchObject({ width: 960, height: 1280 });
  });
});

describe("received", () => {
  it("records every generation body with its headers, refused ones included", async () => {
    const before = sim.received.length;
    await post(sim, { model: "Qwen/Qwen-Image", prompt: "first", seed: 1 });
    await post(sim, { model: "Qwen/Qwen-Image", prompt: "refused" }, {});
    expect(sim.received).toHaveLength(before + 2);
    const [ok, refused] = sim.received.slice(before);
    expect(ok!.body).toEqual({ model: "Qwen/Qwen-Image", prompt: "first", seed: 1 });
    expect(ok!.headers.authorization).toBe(`Bearer ${key}`);
    expect(ok!.receivedAt).toBeLessThanOrEqual(refused!.receivedAt);
    expect(refused!.body.prompt).toBe("refused");
    expect(refused!.headers.authorization).toBeUndefined();
  });

  it("keeps at most maxReceived entries, newest last", async () => {
    const small = await startSimulator({ maxReceived: 2 });
    try {
      for (const prompt of ["a", "b", "c"]) await post(small, { model: "nope", prompt }, { authorization: "Bearer t" });
      expect(small.received.map((entry) => entry.body.prompt)).toEqual(["b", "c"]);
    } finally {
      await small.close();
    }
  });
});

describe("faults", () => {
  const body = { model: "Qwen/Qwen-Image", prompt: "p" };

  it.each<[number, string]>([
    [400, '{"code":20015,"message":"Invalid parameter","data":null}'],
    [401, '"Invalid token"'],
    [403, '"Forbidden"'],
    [429, '{"message":"Request was rejected due to rate limiting. If you want more, please contact us.","data":null}'],
    [500, '{"code":50000,"message":"Internal server error"}'],
    [503, '{"code":50505,"message":"Model service overloaded. Please try again later."}'],
    [504, '"Gateway Timeout"'],
  ])("a status %i fault sends SiliconFlow's usual body", async (status, expected) => {
    sim.addFault({ fault: { kind: "status", status } });
    const response = await post(sim, body);
    expect(response.status).toBe(status);
    expect(await response.text()).toBe(expected);
  });

  it("a status fault sends a given body and headers, and still records the request", async () => {
    const before = sim.received.length;
    sim.addFault({ fault: { kind: "status", status: 429, body: "slow down", headers: { "Retry-After": "7" } }, times: 1 });
    const response = await post(sim, body);
    expect(response.status).toBe(429);
    expect(response.headers.get("retry-after")).toBe("7");
    expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(await response.text()).toBe("slow down");
    expect(sim.received).toHaveLength(before + 1);
  });

  it("honours times, then answers normally", async () => {
    const before = sim.received.length;
    sim.addFault({ fault: { kind: "status", status: 503 }, times: 2 });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await post(sim, body)).status);
    expect(statuses).toEqual([503, 503, 200]);
    expect(sim.received).toHaveLength(before + 3);
  });

  it("lasts until cleared when times is not given", async () => {
    sim.addFault({ fault: { kind: "status", status: 500 } });
    expect((await post(sim, body)).status).toBe(500);
    expect((await post(sim, body)).status).toBe(500);
    sim.clearFaults();
    expect((await post(sim, body)).status).toBe(200);
  });

  it("refuses malformed rules instead of arming them", () => {
    expect(() => sim.addFault({ fault: { kind: "status", status: 42 } })).toThrow();
    expect(() => sim.addFault({ fault: { kind: "hang" }, times: 0 })).toThrow();
    expect(() => sim.addFault({ fault: { kind: "latency", ms: -1 } })).toThrow();
  });

  it("answer faults: a valid 200 whose output URLs are too many, replaced, or on another host", async () => {
    sim.addFault({ fault: { kind: "extra-outputs", count: 5 }, times: 1 });
    const many = (await (await post(sim, body)).json()) as { images: Array<{ url: string }>; data: Array<{ url: string }> };
    expect(many.images).toHaveLength(5);
    expect(many.data).toHaveLength(5);
    expect(new Set(many.images.map((image) => image.url)).size).toBe(5);
    const download = await fetch(many.images[4]!.url);
    expect(download.status).toBe(200);
    expect(download.headers.get("content-type")).toBe("image/png");

    sim.addFault({ fault: { kind: "output-urls", urls: ["file:///etc/passwd"] }, times: 1 });
    const replaced = (await (await post(sim, body)).json()) as { images: Array<{ url: string }> };
    expect(replaced.images).toEqual([{ url: "file:///etc/passwd" }]);

    sim.addFault({ fault: { kind: "output-host", host: "images.test" }, times: 1 });
    const moved = (await (await post(sim, body)).json()) as { images: Array<{ url: string }> };
    expect(moved.images[0]!.url).toMatch(/^http:\/\/images\.test:\d+\/files\/[0-9a-f]{32}\.png\?/);
  });

  it("refuses an answer fault aimed at anything but generations", () => {
    expect(() => sim.addFault({ fault: { kind: "extra-outputs", count: 2 }, target: "download" })).toThrow(/generations only/);
    expect(() => sim.addFault({ fault: { kind: "output-urls", urls: [] } })).toThrow();
  });

  it("malformed: 200 with a body that is not JSON", async () => {
    sim.addFault({ fault: { kind: "malformed" }, times: 1 });
    const response = await post(sim, body);
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(() => JSON.parse(text)).toThrow();
  });

  it("hang: never answers (bounded by the client's own timeout), and the attempt is recorded", async () => {
    const before = sim.received.length;
    sim.addFault({ fault: { kind: "hang" }, times: 1 });
    await expect(post(sim, body, bearer, AbortSignal.timeout(300))).rejects.toMatchObject({ name: "TimeoutError" });
    expect(sim.received).toHaveLength(before + 1);
    expect((await post(sim, body)).status).toBe(200);
  });

  it("close() ends hung requests and resolves", async () => {
    const own = await startSimulator();
    own.addFault({ fault: { kind: "hang" } });
    const outcome = post(own, body, { authorization: "Bearer t" }).then(
      () => "answered",
      () => "failed",
    );
    await waitFor(() => own.received.length === 1);
    await own.close();
    expect(await outcome).toBe("failed");
  });

  it("reset: the connection drops without an answer", async () => {
    sim.addFault({ fault: { kind: "reset" }, times: 1 });
    const error: unknown = await post(sim, body).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TypeError);
    expect((await post(sim, body)).status).toBe(200);
  });

  it("latency: answers normally after the delay", async () => {
    sim.addFault({ fault: { kind: "latency", ms: 300 }, times: 1 });
    const started = Date.now();
    const response = await post(sim, body);
    expect(response.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it("targets downloads and the model list separately from generations", async () => {
    const { reply } = await generate(sim, { ...body, seed: 11 });
    sim.addFault({ fault: { kind: "status", status: 500 }, target: "download", times: 1 });
    sim.addFault({ fault: { kind: "status", status: 503 }, target: "models", times: 1 });
    expect((await fetch(reply.images[0]!.url)).status).toBe(500);
    expect((await fetch(`${sim.url}/models`, { headers: bearer })).status).toBe(503);
    await download(reply.images[0]!.url);
    expect((await fetch(`${sim.url}/models`, { headers: bearer })).status).toBe(200);

    sim.addFault({ fault: { kind: "malformed" }, target: "download", times: 1 });
    const broken = await fetch(reply.images[0]!.url);
    expect(broken.status).toBe(200);
    await expect(sharp(Buffer.from(await broken.arrayBuffer())).metadata()).rejects.toThrow();
  });

  it("can be driven over HTTP", async () => {
    const base = sim.url.replace(/\/v1$/, "");
    const added = await fetch(`${base}/__simulator/faults`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ fault: { kind: "status", status: 503 } }),
    });
    expect(added.status).toBe(201);
    expect((await post(sim, body)).status).toBe(503);
    expect((await fetch(`${base}/__simulator/faults`, { method: "DELETE" })).status).toBe(200);
    expect((await post(sim, body)).status).toBe(200);

    const bad = await fetch(`${base}/__simulator/faults`, {
      method: "POST",
      body: JSON.stringify({ fault: { kind: "explode" } }),
    });
    expect(bad.status).toBe(400);

    const stats = (await (await fetch(`${base}/__simulator/stats`)).json()) as Record<string, unknown>;
    expect(stats).toMatchObject({ generations: sim.stats().generations, downloads: sim.stats().downloads });
  });
});

describe("output URLs", () => {
  it("counts successful generations and downloads", async () => {
    const own = await startSimulator();
    try {
      const headers = { authorization: "Bearer t" };
      const response = await post(own, { model: "Kwai-Kolors/Kolors", prompt: "p", batch_size: 3 }, headers);
      const reply = (await response.json()) as GenerationReply;
      await post(own, { model: "nope", prompt: "p" }, headers);
      await download(reply.images[0]!.url);
      await download(reply.images[1]!.url);
      expect(own.stats()).toEqual({ generations: 1, downloads: 2 });
    } finally {
      await own.close();
    }
  });

  it("forgetImages makes stored URLs 404", async () => {
    const { reply } = await generate(sim, { model: "Qwen/Qwen-Image", prompt: "p", seed: 1 });
    await download(reply.images[0]!.url);
    sim.forgetImages();
    const gone = await fetch(reply.images[0]!.url);
    expect(gone.status).toBe(404);
    expect(await gone.text()).toContain("NoSuchKey");
  });

  it("refuses unknown and tampered links", async () => {
    const { reply } = await generate(sim, { model: "Qwen/Qwen-Image", prompt: "p", seed: 2 });
    const origin = new URL(sim.url).origin;
    expect((await fetch(`${origin}/files/${"0".repeat(32)}.png`)).status).toBe(404);
    const tampered = reply.images[0]!.url.replace(/sig=[0-9a-f]/, (m) => (m.endsWith("0") ? "sig=1" : "sig=0"));
    const refused = await fetch(tampered);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain("SignatureDoesNotMatch");
  });

  it("expire after urlTtlMs with 403 AccessDenied, and the image is evicted", async () => {
    const own = await startSimulator({ urlTtlMs: 1_500 });
    try {
      const response = await post(own, { model: "Qwen/Qwen-Image", prompt: "p" }, { authorization: "Bearer t" });
      const url = ((await response.json()) as GenerationReply).images[0]!.url;
      const expires = Number(new URL(url).searchParams.get("expires"));
      expect(expires).toBeGreaterThan(Date.now());
      expect(expires).toBeLessThanOrEqual(Date.now() + 1_500);
      await download(url);

      const base = own.url.replace(/\/v1$/, "");
      const storedImages = async () =>
        ((await (await fetch(`${base}/__simulator/stats`)).json()) as { storedImages: number }).storedImages;
      expect(await storedImages()).toBe(1);
      // The eviction timer frees the memory on its own, without anyone asking for the URL.
      await waitFor(async () => (await storedImages()) === 0);

      const expired = await fetch(url);
      expect(expired.status).toBe(403);
      const text = await expired.text();
      expect(text).toContain("AccessDenied");
      expect(text).toContain("Request has expired");
    } finally {
      await own.close();
    }
  });
});

describe("models and paths", () => {
  it("lists the catalogue, filtered by type and sub_type, behind auth", async () => {
    expect((await fetch(`${sim.url}/models?type=image`)).status).toBe(401);
    const all = (await (await fetch(`${sim.url}/models?type=image`, { headers: bearer })).json()) as {
      object: string;
      data: { id: string; object: string; created: number; owned_by: string }[];
    };
    expect(all.object).toBe("list");
    expect(all.data.map((m) => m.id).sort()).toEqual(builtinModels.map((m) => m.id).sort());
    expect(all.data[0]).toEqual({ id: all.data[0]!.id, object: "model", created: 0, owned_by: "" });

    const edits = (await (await fetch(`${sim.url}/models?type=image&sub_type=image-to-image`, { headers: bearer })).json()) as {
      data: { id: string }[];
    };
    const editIds = edits.data.map((m) => m.id);
    expect(editIds).toContain("Qwen/Qwen-Image-Edit-2509");
    expect(editIds).not.toContain("Qwen/Qwen-Image");

    const text = (await (await fetch(`${sim.url}/models?type=text`, { headers: bearer })).json()) as { data: unknown[] };
    expect(text.data).toEqual([]);
  });

  it("serves a custom catalogue", async () => {
    const own = await startSimulator({
      models: [
        { id: "acme/tiny", sizes: ["64x32"], maxBatch: 1, maxImages: 0, minImages: 0, guidance: "none", defaultSize: "64x32" },
      ],
    });
    try {
      const response = await post(own, { model: "acme/tiny", prompt: "p" }, { authorization: "Bearer t" });
      const reply = (await response.json()) as GenerationReply;
      expect(await sharp(await download(reply.images[0]!.url)).metadata()).toMatchObject({ width: 64, height: 32 });
      expect((await post(own, { model: "Qwen/Qwen-Image", prompt: "p" }, { authorization: "Bearer t" })).status).toBe(400);
    } finally {
      await own.close();
    }
  });

  it("answers unknown paths and methods with 404 page not found", async () => {
    for (const response of [
      await fetch(`${sim.url}/chat/completions`, { method: "POST", headers: bearer, body: "{}" }),
      await fetch(`${sim.url}/images/generations`, { headers: bearer }),
    ]) {
      expect(response.status).toBe(404);
      expect(await response.text()).toBe("404 page not found");
    }
  });
});
