import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "./support/harness.js";
import { dataUrlBytes, noisyPng, solidJpeg, solidPng } from "./support/images.js";

interface RestAnswer {
  call_id: string;
  model: string;
  provider: string;
  images: Array<{ index: number; url: string; width: number; height: number; type: string; size: number }>;
  seed: number | null;
  timings: { inference: number | null; total_ms: number };
  cache_hit: boolean;
}

interface RestError {
  error: { code: string; message: string; field: string | null; index?: number; retry_after_seconds?: number };
}

interface FormFile {
  data: Uint8Array;
  name?: string;
  type?: string;
}

/** A multipart form as a browser or any fetch client builds it: text fields, then the files under `images`. */
function form(fields: Record<string, string | number>, images: readonly FormFile[] = []): FormData {
  const body = new FormData();
  for (const [name, value] of Object.entries(fields)) body.append(name, String(value));
  images.forEach((image, i) => body.append("images", new Blob([new Uint8Array(image.data)], { type: image.type ?? "image/png" }), image.name ?? `image-${i}.png`));
  return body;
}

async function post<T>(h: Harness, body: FormData | string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: T }> {
  const response = await fetch(`${h.url}/generate-images`, { method: "POST", headers, body });
  const text = await response.text();
  try {
    return { status: response.status, headers: response.headers, body: JSON.parse(text) as T };
  } catch {
    throw new Error(`not JSON (HTTP ${response.status}): ${text.slice(0, 200)}`);
  }
}

const CURL = "/usr/bin/curl";
const run = promisify(execFile);

describe("POST /generate-images, the original REST API, through the real HTTP server", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ config: { uploads: { maxBytes: 100_000 } } });
  });
  afterAll(async () => {
    await h.close();
  });

  it("text-to-image: every form field reaches SiliconFlow under its name, the answer is snake_case, the URLs serve the images", async () => {
    const before = h.simulator.received.length;
    const { status, body } = await post<RestAnswer>(
      h,
      form({
        model: "Kwai-Kolors/Kolors",
        prompt: "a lighthouse at dusk",
        negative_prompt: "fog",
        image_size: "768x1024",
        batch_size: 2,
        seed: 9999999999,
        num_inference_steps: 25,
        guidance_scale: 7.5,
      }),
    );
    expect(status).toBe(200);
    expect(h.simulator.received.length).toBe(before + 1);
    expect(h.simulator.received.at(-1)!.body).toMatchObject({
      model: "Kwai-Kolors/Kolors",
      prompt: "a lighthouse at dusk",
      negative_prompt: "fog",
      image_size: "768x1024",
      batch_size: 2,
      seed: 9999999999,
      num_inference_steps: 25,
      guidance_scale: 7.5,
    });
    expect(body).toMatchObject({ model: "Kwai-Kolors/Kolors", provider: "SILICONFLOW", seed: 9999999999, cache_hit: false });
    expect(body.call_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.timings.total_ms).toBeGreaterThan(0);
    expect(typeof body.timings.inference).toBe("number");
    expect(body.images).toHaveLength(2);
    for (const [i, image] of body.images.entries()) {
      expect(image).toMatchObject({ index: i, width: 768, height: 1024, type: "image/png" });
      expect(image.url.startsWith(`${h.url}/images/`)).toBe(true);
      const served = await fetch(image.url);
      expect(served.status).toBe(200);
      expect(served.headers.get("content-type")).toBe("image/png");
      const bytes = Buffer.from(await served.arrayBuffer());
      expect(bytes.length).toBe(image.size);
      const meta = await sharp(bytes).metadata();
      expect([meta.width, meta.height]).toEqual([768, 1024]);
    }
    const line = (await h.logLines()).at(-1)!;
    expect(line).toMatchObject({ api: "rest", status: "success", call_id: body.call_id, model: "Kwai-Kolors/Kolors", prompt: "a lighthouse at dusk", batch_size: 2, seed_used: 9999999999 });
    expect(line.output_images.map((image) => image.url)).toEqual(body.images.map((image) => image.url));
  });

  it("a seeded repeat is answered from the result cache, and cache=false forces a new generation", async () => {
    const fields = { model: "Qwen/Qwen-Image", prompt: "a red kite", seed: 42 };
    const first = await post<RestAnswer>(h, form(fields));
    expect(first.status).toBe(200);
    const before = h.simulator.received.length;
    const repeat = await post<RestAnswer>(h, form(fields));
    expect(repeat.body.cache_hit).toBe(true);
    expect(repeat.body.images.map((image) => image.url)).toEqual(first.body.images.map((image) => image.url));
    expect(h.simulator.received.length).toBe(before);
    const fresh = await post<RestAnswer>(h, form({ ...fields, cache: "false" }));
    expect(fresh.body.cache_hit).toBe(false);
    expect(h.simulator.received.length).toBe(before + 1);
  });

  it("its calls feed the same metrics as GraphQL's", async () => {
    const count = async (): Promise<number> => {
      const text = await (await fetch(`${h.url}/metrics`)).text();
      const found = /^siliconflow_gateway_generations_total\{model="Tongyi-MAI\/Z-Image-Turbo",status="success"\} (\d+)$/m.exec(text);
      return found ? Number(found[1]) : 0;
    };
    const before = await count();
    expect((await post<RestAnswer>(h, form({ model: "Tongyi-MAI/Z-Image-Turbo", prompt: "a kite" }))).status).toBe(200);
    expect(await count()).toBe(before + 1);
  });

  it("edit with one image: it reaches SiliconFlow as `image`, untouched", async () => {
    const upload = await solidPng(320, 240, "#3366ff");
    const before = h.simulator.received.length;
    const { status, body } = await post<RestAnswer>(h, form({ model: "Qwen/Qwen-Image-Edit", prompt: "make it night", cfg: 4 }, [{ data: upload }]));
    expect(status).toBe(200);
    expect(body.images).toHaveLength(1);
    expect(h.simulator.received.length).toBe(before + 1);
    const sent = h.simulator.received.at(-1)!.body;
    expect(sent.cfg).toBe(4);
    expect(sent).not.toHaveProperty("image2");
    expect(Buffer.compare(dataUrlBytes(sent.image).bytes, upload)).toBe(0);
    const line = (await h.logLines()).at(-1)!;
    expect(line).toMatchObject({ api: "rest", status: "success" });
    expect(line.input_images).toHaveLength(1);
  });

  it("edit with three images: they reach SiliconFlow as image, image2, image3, in the order sent", async () => {
    const uploads = [await solidPng(640, 480, "#ff0000"), await solidJpeg(500, 500, "#00ff00"), await solidPng(200, 300, "#0000ff")];
    const { status, body } = await post<RestAnswer>(
      h,
      // The fields after the files: the form is read whole before the call, whatever the order of its parts.
      (() => {
        const data = new FormData();
        uploads.forEach((bytes, i) => data.append("images", new Blob([new Uint8Array(bytes)], { type: "application/octet-stream" }), `photo-${i}.bin`));
        data.append("model", "Qwen/Qwen-Image-Edit-2509");
        data.append("prompt", "merge these");
        return data;
      })(),
    );
    expect(status).toBe(200);
    expect(body.images).toHaveLength(1);
    const sent = h.simulator.received.at(-1)!.body;
    const received = ["image", "image2", "image3"].map((field) => dataUrlBytes(sent[field]));
    expect(received.map((r) => r.mime)).toEqual(["image/png", "image/jpeg", "image/png"]);
    received.forEach((r, i) => expect(Buffer.compare(r.bytes, uploads[i]!)).toBe(0));
    const line = (await h.logLines()).at(-1)!;
    expect(line.input_images.map((image) => image.size)).toEqual([
      [640, 480],
      [500, 500],
      [200, 300],
    ]);
  });

  it.skipIf(!existsSync(CURL))("curl, as a client would send it: -F fields and -F images=@file", async () => {
    const folder = await mkdtemp(path.join(tmpdir(), "rest-curl-"));
    try {
      const first = path.join(folder, "first.png");
      const second = path.join(folder, "second.jpg");
      await writeFile(first, await solidPng(256, 256, "#884400"));
      await writeFile(second, await solidJpeg(300, 200, "#004488"));
      const before = h.simulator.received.length;
      const { stdout } = await run(CURL, [
        "-sS",
        "-w",
        "\n%{http_code}",
        "-F",
        "model=Qwen/Qwen-Image-Edit-2509",
        "-F",
        "prompt=put them side by side",
        "-F",
        "cfg=2.5",
        "-F",
        `images=@${first}`,
        "-F",
        `images=@${second}`,
        `${h.url}/generate-images`,
      ]);
      const [json, code] = [stdout.slice(0, stdout.lastIndexOf("\n")), stdout.slice(stdout.lastIndexOf("\n") + 1)];
      expect(code).toBe("200");
      const answer = JSON.parse(json) as RestAnswer;
      expect(answer.images).toHaveLength(1);
      expect(h.simulator.received.length).toBe(before + 1);
      const sent = h.simulator.received.at(-1)!.body;
      expect(sent).toMatchObject({ model: "Qwen/Qwen-Image-Edit-2509", prompt: "put them side by side", cfg: 2.5 });
      expect(dataUrlBytes(sent.image).mime).toBe("image/png");
      expect(dataUrlBytes(sent.image2).mime).toBe("image/jpeg");
      expect(sent).not.toHaveProperty("image3");
      const image = await fetch(answer.images[0]!.url);
      expect(image.status).toBe(200);
      expect((await image.arrayBuffer()).byteLength).toBe(answer.images[0]!.size);
      expect((await h.logLines()).at(-1)).toMatchObject({ api: "rest", status: "success", call_id: answer.call_id });
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it("timings.total_ms runs from the request's arrival, its upload included, as the line's total_time_ms", async () => {
    const boundary = "----slow";
    const body = [`--${boundary}`, 'Content-Disposition: form-data; name="model"', "", "Kwai-Kolors/Kolors", `--${boundary}`, 'Content-Disposition: form-data; name="prompt"', "", "a slow kite", `--${boundary}--`, ""].join("\r\n");
    const { hostname, port } = new URL(h.url);
    const socket = connect(Number(port), hostname);
    let response = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => (response += chunk));
    const closed = new Promise((resolve) => socket.once("close", resolve));
    await new Promise((resolve) => socket.once("connect", resolve));
    const half = Math.floor(body.length / 2);
    socket.write(`POST /generate-images HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, half)}`);
    // The rest of the form arrives 400 ms later: the answer's time includes the wait.
    await new Promise((resolve) => setTimeout(resolve, 400));
    socket.write(body.slice(half));
    await closed;
    expect(response).toMatch(/^HTTP\/1.1 200/);
    const answer = JSON.parse(response.slice(response.indexOf("\r\n\r\n") + 4)) as RestAnswer;
    expect(answer.timings.total_ms).toBeGreaterThanOrEqual(400);
    const line = (await h.logLines()).find((l) => l.call_id === answer.call_id)!;
    // The line is written just before the answer is made, so the two differ by that moment only.
    expect(Math.abs(answer.timings.total_ms - line.total_time_ms)).toBeLessThan(50);
  });

  describe("bad input: the face's error shape and status, a failed line with api rest, nothing sent upstream", () => {
    const cases: Array<{ name: string; body: () => Promise<FormData | string>; headers?: Record<string, string>; status: number; code: string; field: string | null; index?: number }> = [
      { name: "a missing prompt", body: async () => form({ model: "Qwen/Qwen-Image" }), status: 400, code: "BAD_USER_INPUT", field: "prompt" },
      { name: "a missing model", body: async () => form({ prompt: "a kite" }), status: 400, code: "BAD_USER_INPUT", field: "model" },
      { name: "a blank prompt", body: async () => form({ model: "Qwen/Qwen-Image", prompt: "   " }), status: 400, code: "BAD_USER_INPUT", field: "prompt" },
      { name: "an unknown model", body: async () => form({ model: "no/such-model", prompt: "a kite" }), status: 400, code: "BAD_USER_INPUT", field: "model" },
      { name: "an image_size the model does not take", body: async () => form({ model: "Kwai-Kolors/Kolors", prompt: "a kite", image_size: "999x999" }), status: 400, code: "BAD_USER_INPUT", field: "image_size" },
      { name: "a batch_size that is not a number", body: async () => form({ model: "Kwai-Kolors/Kolors", prompt: "a kite", batch_size: "two" }), status: 400, code: "BAD_USER_INPUT", field: "batch_size" },
      { name: "a batch_size out of range", body: async () => form({ model: "Kwai-Kolors/Kolors", prompt: "a kite", batch_size: 9 }), status: 400, code: "BAD_USER_INPUT", field: "batch_size" },
      { name: "guidance_scale for a cfg model", body: async () => form({ model: "Qwen/Qwen-Image", prompt: "a kite", guidance_scale: 3 }), status: 400, code: "BAD_USER_INPUT", field: "guidance_scale" },
      { name: "a prompt sent twice", body: async () => {
          const data = form({ model: "Qwen/Qwen-Image", prompt: "a kite" });
          data.append("prompt", "again");
          return data;
        }, status: 400, code: "BAD_USER_INPUT", field: "prompt" },
      {
        name: "more images than the model takes",
        body: async () => form({ model: "Qwen/Qwen-Image-Edit", prompt: "edit" }, [{ data: await solidPng(64, 64, "#111") }, { data: await solidPng(64, 64, "#222") }]),
        status: 400,
        code: "BAD_USER_INPUT",
        field: "images",
      },
      {
        name: "more images than the gateway accepts",
        body: async () => form({ model: "Qwen/Qwen-Image-Edit-2509", prompt: "edit" }, await Promise.all([1, 2, 3, 4].map(async (n) => ({ data: await solidPng(32, 32, `#${n}${n}${n}` ) })))),
        status: 400,
        code: "BAD_USER_INPUT",
        field: "images",
      },
      { name: "an edit model without its image", body: async () => form({ model: "Qwen/Qwen-Image-Edit", prompt: "edit" }), status: 400, code: "BAD_USER_INPUT", field: "images" },
      {
        name: "a file that is not an image",
        body: async () => form({ model: "Qwen/Qwen-Image-Edit-2509", prompt: "edit" }, [{ data: await solidPng(32, 32, "#123"), name: "ok.png" }, { data: Buffer.from("just some text, not a picture"), name: "notes.txt", type: "text/plain" }]),
        status: 400,
        code: "BAD_USER_INPUT",
        field: "images",
        index: 1,
      },
      {
        name: "a file larger than the upload limit",
        body: async () => form({ model: "Qwen/Qwen-Image-Edit", prompt: "edit" }, [{ data: await noisyPng(400, 400) }]),
        status: 413,
        code: "PAYLOAD_TOO_LARGE",
        field: "images",
        index: 0,
      },
      { name: "images sent as text", body: async () => form({ model: "Qwen/Qwen-Image-Edit", prompt: "edit", images: "http://example.invalid/a.png" }), status: 400, code: "BAD_USER_INPUT", field: "images" },
      {
        name: "a file under another name",
        body: async () => {
          const data = form({ model: "Qwen/Qwen-Image-Edit", prompt: "edit" });
          data.append("image", new Blob([new Uint8Array(await solidPng(32, 32, "#456"))], { type: "image/png" }), "a.png");
          return data;
        },
        status: 400,
        code: "BAD_USER_INPUT",
        field: "image",
      },
      // A text field is read up to 4 bytes a code point of the longest prompt (MAX_PROMPT_LENGTH 4000): within it the service's rule, past it the form's.
      { name: "a prompt longer than the service allows", body: async () => form({ model: "Qwen/Qwen-Image", prompt: "x".repeat(4001) }), status: 400, code: "BAD_USER_INPUT", field: "prompt" },
      { name: "a field past the form's field limit", body: async () => form({ model: "Qwen/Qwen-Image", prompt: "x".repeat(20_000) }), status: 413, code: "PAYLOAD_TOO_LARGE", field: "prompt" },
      { name: "JSON instead of a form", body: async () => JSON.stringify({ model: "Qwen/Qwen-Image", prompt: "a kite" }), headers: { "content-type": "application/json" }, status: 415, code: "BAD_USER_INPUT", field: null },
      { name: "a body with a type no parser takes", body: async () => "model=Qwen/Qwen-Image&prompt=kite", headers: { "content-type": "application/x-www-form-urlencoded" }, status: 415, code: "BAD_USER_INPUT", field: null },
      {
        name: "a malformed multipart body",
        body: async () => "--xyz\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\nunfinished",
        headers: { "content-type": "multipart/form-data; boundary=xyz" },
        status: 400,
        code: "BAD_USER_INPUT",
        field: null,
      },
    ];

    for (const c of cases) {
      it(c.name, async () => {
        const before = h.simulator.received.length;
        const linesBefore = (await h.logLines()).length;
        const { status, body, headers } = await post<RestError>(h, await c.body(), c.headers);
        expect(status).toBe(c.status);
        expect(headers.get("content-type")).toMatch(/^application\/json/);
        expect(body.error).toMatchObject({ code: c.code, field: c.field });
        expect(body.error.message.length).toBeGreaterThan(0);
        expect(JSON.stringify(body)).not.toMatch(/at .*\(.*:\d+:\d+\)|node_modules|\/src\/|\.ts:\d/);
        if (c.index !== undefined) expect(body.error.index).toBe(c.index);
        expect(h.simulator.received.length).toBe(before);
        const lines = await h.logLines();
        expect(lines.length).toBe(linesBefore + 1);
        expect(lines.at(-1)).toMatchObject({ api: "rest", status: "failed", error_code: c.code, upstream_attempts: 0 });
      });
    }
  });
});

describe("POST /generate-images: client tokens, rate limits and the refusal budget", () => {
  it("needs a client token when tokens are configured: 401 without, the answer with, and each call logged", async () => {
    const h = await startHarness({ config: { auth: { tokens: ["team-token-0001"] } } });
    try {
      const fields = { model: "Qwen/Qwen-Image", prompt: "a kite" };
      for (const headers of [{}, { authorization: "Bearer team-token-0002" }] as Array<Record<string, string>>) {
        const refused = await post<RestError>(h, form(fields), headers);
        expect(refused.status).toBe(401);
        expect(refused.body.error).toMatchObject({ code: "UNAUTHENTICATED", field: null });
        expect((await h.logLines()).at(-1)).toMatchObject({ api: "rest", status: "failed", error_code: "UNAUTHENTICATED" });
      }
      expect(h.simulator.received.length).toBe(0);
      const allowed = await post<RestAnswer>(h, form(fields), { authorization: "Bearer team-token-0001" });
      expect(allowed.status).toBe(200);
      expect(h.simulator.received.length).toBe(1);
      expect((await h.logLines()).at(-1)).toMatchObject({ api: "rest", status: "success", call_id: allowed.body.call_id });
    } finally {
      await h.close();
    }
  });

  it("a client past its rate limit gets 429 with Retry-After, logged failed, nothing sent upstream", async () => {
    const h = await startHarness({ config: { rateLimit: { callsPerWindow: 1, windowSeconds: 60 } } });
    try {
      const fields = { model: "Qwen/Qwen-Image", prompt: "a kite" };
      expect((await post<RestAnswer>(h, form(fields))).status).toBe(200);
      const before = h.simulator.received.length;
      const limited = await post<RestError>(h, form(fields));
      expect(limited.status).toBe(429);
      const retryAfter = Number(limited.headers.get("retry-after"));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(limited.body.error).toMatchObject({ code: "RATE_LIMITED", field: null, retry_after_seconds: retryAfter });
      expect(h.simulator.received.length).toBe(before);
      expect((await h.logLines()).at(-1)).toMatchObject({ api: "rest", status: "failed", error_code: "RATE_LIMITED", upstream_attempts: 0 });
    } finally {
      await h.close();
    }
  });

  it("the images-per-minute budget refuses the call that would pass it", async () => {
    const h = await startHarness({ config: { limits: { imagesPerMinute: { "Kwai-Kolors/Kolors": 3 } } } });
    try {
      expect((await post<RestAnswer>(h, form({ model: "Kwai-Kolors/Kolors", prompt: "a kite", batch_size: 2 }))).status).toBe(200);
      const before = h.simulator.received.length;
      const over = await post<RestError>(h, form({ model: "Kwai-Kolors/Kolors", prompt: "a kite", batch_size: 2 }));
      expect(over.status).toBe(429);
      expect(Number(over.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(over.body.error.code).toBe("RATE_LIMITED");
      expect(h.simulator.received.length).toBe(before);
      expect((await h.logLines()).at(-1)).toMatchObject({ api: "rest", status: "failed", error_code: "RATE_LIMITED" });
    } finally {
      await h.close();
    }
  });

  it("a client whose refusal budget is spent is refused before its form is read, in the face's shape", async () => {
    const h = await startHarness({ config: { rateLimit: { refusalsPerMinute: 2 } } });
    try {
      for (let i = 0; i < 2; i += 1) expect((await post<RestError>(h, form({ model: "Qwen/Qwen-Image" }))).status).toBe(400);
      const refused = await post<RestError>(h, form({ model: "Qwen/Qwen-Image", prompt: "a fine prompt now" }));
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(refused.body.error).toMatchObject({ code: "RATE_LIMITED", field: null });
      expect(h.simulator.received.length).toBe(0);
      const lines = await h.logLines();
      expect(lines).toHaveLength(3);
      expect(lines.at(-1)).toMatchObject({ api: "rest", status: "failed", error_code: "RATE_LIMITED", prompt: null });
    } finally {
      await h.close();
    }
  });
});

describe("POST /generate-images: upstream failures in the face's shape", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ config: { siliconflow: { timeoutMs: 1_000, maxRetries: 0 } } });
  });
  afterAll(async () => {
    await h.close();
  });

  it.each([
    ["SiliconFlow failing: 502", { kind: "status", status: 500 } as const, 502, "UPSTREAM_UNAVAILABLE"],
    ["SiliconFlow not answering in time: 504", { kind: "hang" } as const, 504, "UPSTREAM_TIMEOUT"],
  ])("%s, with its code and a failed line", async (_name, fault, status, code) => {
    h.simulator.addFault({ fault, times: 1 });
    const failed = await post<RestError>(h, form({ model: "Qwen/Qwen-Image", prompt: "a kite" }));
    expect(failed.status).toBe(status);
    expect(failed.body.error).toMatchObject({ code, field: null });
    expect((await h.logLines()).at(-1)).toMatchObject({ api: "rest", status: "failed", error_code: code, upstream_attempts: 1 });
  });
});

describe("POST /generate-images: a form that stalls", () => {
  it("is cut with 408 in the face's shape, and its call has one failed line", async () => {
    const h = await startHarness({ env: { BODY_IDLE_TIMEOUT_MS: "300", BODY_TIMEOUT_MS: "5000" } });
    try {
      const { hostname, port } = new URL(h.url);
      const part = `--cut\r\nContent-Disposition: form-data; name="model"\r\n\r\nQwen/Qwen-Image\r\n--cut\r\nContent-Disposition: form-data; name="images"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n`;
      const head =
        `POST /generate-images HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=cut\r\n` +
        `Content-Length: 100000\r\nx-request-id: stalled-form\r\n\r\n`;
      const response = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), hostname, () => socket.write(head + part + "x".repeat(500)));
        let received = "";
        socket.setEncoding("utf8");
        socket.on("data", (chunk: string) => (received += chunk));
        socket.on("error", reject);
        socket.on("close", () => resolve(received));
      });
      expect(response).toMatch(/^HTTP\/1\.1 408/);
      const body = JSON.parse(response.slice(response.indexOf("\r\n\r\n") + 4)) as RestError;
      expect(body.error).toMatchObject({ code: "REQUEST_TIMEOUT", field: null });
      await new Promise((resolve) => setTimeout(resolve, 200));
      const lines = (await h.logLines()).filter((line) => line.request_id === "stalled-form");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ api: "rest", status: "failed", error_code: "REQUEST_TIMEOUT" });
      expect(h.simulator.received).toHaveLength(0);
    } finally {
      await h.close();
    }
  });
});
