import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "./support/harness.js";
import { solidPng } from "./support/images.js";

interface OpenAIError {
  error: { message: string; type: string; param: string | null; code: string };
}

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: OpenAIError;
}

async function send(url: string, init: RequestInit): Promise<Answer> {
  const response = await fetch(url, init);
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, body: JSON.parse(text) as OpenAIError };
}

function postJson(h: Harness, path: string, body: unknown): Promise<Answer> {
  return send(`${h.url}/v1${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body) });
}

function postForm(h: Harness, fields: Record<string, string>, files: Array<{ field: string; data: Buffer; name?: string }>): Promise<Answer> {
  const form = new FormData();
  for (const [key, value] of Object.entries(fields)) form.append(key, value);
  for (const file of files) form.append(file.field, new Blob([new Uint8Array(file.data)], { type: "image/png" }), file.name ?? "image.png");
  return send(`${h.url}/v1/images/edits`, { method: "POST", body: form });
}

/** A request as written by hand, for bodies fetch will not send (no boundary, cut short). */
function rawPost(h: Harness, path: string, contentType: string, body: string): Promise<Answer> {
  const { hostname, port } = new URL(h.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let response = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => (response += chunk));
    socket.on("error", reject);
    socket.on("close", () => {
      const [head = "", text = ""] = response.split("\r\n\r\n");
      const headers = new Headers(head.split("\r\n").slice(1).map((line) => line.split(/:\s*/, 2) as [string, string]));
      resolve({ status: Number(/^HTTP\/1.1 (\d+)/.exec(head)?.[1] ?? 0), headers, text, body: JSON.parse(text || "{}") as OpenAIError });
    });
    socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: ${contentType}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  });
}

describe("bad input on the OpenAI face: OpenAI's error shape, the right status, a failed line, nothing upstream", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ config: { uploads: { maxBytes: 200_000, maxFiles: 4 }, limits: { maxPromptLength: 100 }, rateLimit: { refusalsPerMinute: 0 } } });
  });
  afterAll(async () => {
    await h?.close();
  });

  /** Runs `request`, then checks the refusal: its answer, its one failed line with api openai, no upstream call. */
  async function expectRefused(request: () => Promise<Answer>, expected: { status: number; param: string | null; code?: string; message?: RegExp }): Promise<void> {
    const upstreamBefore = h.simulator.received.length;
    const linesBefore = (await h.logLines()).length;
    const answer = await request();
    expect(answer.status, answer.text).toBe(expected.status);
    expect(answer.headers.get("content-type")).toMatch(/^application\/json/);
    expect(answer.body.error).toMatchObject({ param: expected.param, code: expected.code ?? "BAD_USER_INPUT" });
    expect(typeof answer.body.error.message).toBe("string");
    expect(typeof answer.body.error.type).toBe("string");
    if (expected.message) expect(answer.body.error.message).toMatch(expected.message);
    expect(answer.text).not.toMatch(/\bat \S+:\d+|node_modules|\/work\//);
    expect(h.simulator.received.length).toBe(upstreamBefore);
    const lines = await h.logLines();
    expect(lines.length).toBe(linesBefore + 1);
    expect(lines.at(-1)).toMatchObject({ api: "openai", status: "failed", error_code: expected.code ?? "BAD_USER_INPUT" });
  }

  it("a missing prompt (the route schema): 400 naming prompt", async () => {
    await expectRefused(() => postJson(h, "/images/generations", { model: "Qwen/Qwen-Image" }), { status: 400, param: "prompt", message: /prompt is required/ });
  });

  it("n that is not a number (the route schema): 400 naming n", async () => {
    await expectRefused(() => postJson(h, "/images/generations", { model: "Kwai-Kolors/Kolors", prompt: "a kite", n: "two" }), { status: 400, param: "n" });
  });

  it("n above the model's batch (the service): 400 naming n", async () => {
    await expectRefused(() => postJson(h, "/images/generations", { model: "Kwai-Kolors/Kolors", prompt: "a kite", n: 9 }), { status: 400, param: "n", message: /between 1 and 4/ });
  });

  it("an empty prompt, a negative_prompt the model does not take, a guidance the model does not take", async () => {
    await expectRefused(() => postJson(h, "/images/generations", { model: "Qwen/Qwen-Image", prompt: "" }), { status: 400, param: "prompt" });
    await expectRefused(() => postJson(h, "/images/generations", { model: "Qwen/Qwen-Image", prompt: "a kite", guidance_scale: 3 }), {
      status: 400,
      param: "guidance_scale",
    });
    await expectRefused(() => postJson(h, "/images/generations", { model: "Qwen/Qwen-Image", prompt: "a kite", seed: -1 }), { status: 400, param: "seed" });
  });

  it("a body that is not JSON: 400", async () => {
    await expectRefused(() => postJson(h, "/images/generations", "{ not json"), { status: 400, param: null, message: /not valid JSON/ });
  });

  it("a JSON body over the body limit: 413", async () => {
    await expectRefused(() => postJson(h, "/images/generations", { model: "Qwen/Qwen-Image", prompt: "x".repeat(2_000_000) }), {
      status: 413,
      param: null,
      code: "PAYLOAD_TOO_LARGE",
    });
  });

  it("stream: true, and an edit with a mask: refused, naming the field", async () => {
    await expectRefused(() => postJson(h, "/images/generations", { model: "Qwen/Qwen-Image", prompt: "a kite", stream: true }), { status: 400, param: "stream" });
    const png = await solidPng(64, 64, "#fff");
    await expectRefused(() => postForm(h, { model: "Qwen/Qwen-Image-Edit", prompt: "edit" }, [{ field: "image", data: png }, { field: "mask", data: png }]), {
      status: 400,
      param: "mask",
    });
  });

  it("an edit with more images than the model takes: 400 naming image", async () => {
    const png = await solidPng(64, 64, "#fff");
    await expectRefused(
      () => postForm(h, { model: "Qwen/Qwen-Image-Edit-2509", prompt: "edit" }, Array.from({ length: 4 }, () => ({ field: "image[]", data: png }))),
      { status: 400, param: "image", message: /at most 3 images/ },
    );
  });

  it("an edit with no image, and one with a file that is not an image", async () => {
    await expectRefused(() => postForm(h, { model: "Qwen/Qwen-Image-Edit", prompt: "edit" }, []), { status: 400, param: "image" });
    await expectRefused(() => postForm(h, { model: "Qwen/Qwen-Image-Edit", prompt: "edit" }, [{ field: "image", data: Buffer.from("not an image at all") }]), {
      status: 400,
      param: "image[0]",
    });
  });

  it("a prompt in a form longer than the parser keeps: refused naming prompt, never sent cut", async () => {
    const png = await solidPng(64, 64, "#fff");
    // 4 bytes a code point of the longest prompt (100): past 404 bytes the form's field limit refuses it.
    await expectRefused(() => postForm(h, { model: "Qwen/Qwen-Image-Edit", prompt: "\u{1F600}".repeat(300) }, [{ field: "image", data: png }]), {
      status: 413,
      param: "prompt",
      code: "PAYLOAD_TOO_LARGE",
      message: /field limit/,
    });
    // Within it, the service's own rule.
    await expectRefused(() => postForm(h, { model: "Qwen/Qwen-Image-Edit", prompt: "\u{1F600}".repeat(101) }, [{ field: "image", data: png }]), {
      status: 400,
      param: "prompt",
      message: /longer than 100 characters/,
    });
  });

  it("a file under a name the face does not take (image[0], images), or an image part that is no file: refused naming it", async () => {
    const png = await solidPng(64, 64, "#fff");
    for (const field of ["image[0]", "images"]) {
      await expectRefused(() => postForm(h, { model: "Qwen/Qwen-Image-Edit", prompt: "edit" }, [{ field, data: png }]), {
        status: 400,
        param: field,
        message: /send image files under `image` or `image\[\]`/,
      });
    }
    const form = new FormData();
    form.append("model", "Qwen/Qwen-Image-Edit");
    form.append("prompt", "edit");
    form.append("image", "not a file");
    await expectRefused(() => send(`${h.url}/v1/images/edits`, { method: "POST", body: form }), { status: 400, param: "image", message: /must be image files/ });
  });

  it("an image over the upload limit: 413 naming the image", async () => {
    const big = Buffer.alloc(300_000, 7);
    await expectRefused(() => postForm(h, { model: "Qwen/Qwen-Image-Edit", prompt: "edit" }, [{ field: "image", data: big }]), {
      status: 413,
      param: "image[0]",
      code: "PAYLOAD_TOO_LARGE",
    });
  });

  it("a form the parser cannot read (no boundary, cut short in a field or a file): 400, not the gateway's failure", async () => {
    await expectRefused(() => rawPost(h, "/v1/images/edits", "multipart/form-data", "abcd"), { status: 400, param: null, message: /could not be read/ });
    const field = '--BB\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nedit';
    await expectRefused(() => rawPost(h, "/v1/images/edits", "multipart/form-data; boundary=BB", field), { status: 400, param: null, message: /could not be read/ });
    const file = '--BB\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n\x89PNG';
    await expectRefused(() => rawPost(h, "/v1/images/edits", "multipart/form-data; boundary=BB", file), { status: 400, param: null, message: /could not be read/ });
  });

  it("a form field named after a property of Object.prototype (constructor): 400, the form refused", async () => {
    const png = await solidPng(64, 64, "#fff");
    await expectRefused(() => postForm(h, { model: "Qwen/Qwen-Image-Edit", prompt: "edit", constructor: "x" }, [{ field: "image", data: png }]), {
      status: 400,
      param: null,
      message: /reserved name/,
    });
  });

  it("a route the face does not have: 404 in the same shape, no line", async () => {
    const linesBefore = (await h.logLines()).length;
    const answer = await send(`${h.url}/v1/images/variations`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(answer.status).toBe(404);
    expect(answer.body.error.type).toBe("invalid_request_error");
    expect((await h.logLines()).length).toBe(linesBefore);
  });
});

describe("the refusal budget covers the OpenAI face", () => {
  it("past it, a 429 with Retry-After in OpenAI's shape, logged failed, nothing upstream", async () => {
    const h = await startHarness({ config: { rateLimit: { refusalsPerMinute: 2 } } });
    try {
      for (let i = 0; i < 2; i += 1) expect((await postJson(h, "/images/generations", { model: "Qwen/Qwen-Image" })).status).toBe(400);
      const answer = await postJson(h, "/images/generations", { model: "Qwen/Qwen-Image", prompt: "a kite" });
      expect(answer.status).toBe(429);
      expect(Number(answer.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(answer.body.error).toMatchObject({ type: "rate_limit_error", code: "RATE_LIMITED", param: null });
      expect(h.simulator.received).toHaveLength(0);
      const lines = await h.logLines();
      expect(lines).toHaveLength(3);
      expect(lines.at(-1)).toMatchObject({ api: "openai", status: "failed", error_code: "RATE_LIMITED" });
    } finally {
      await h.close();
    }
  });
});

/** Sends the head and the start of a body, then nothing, and returns what the gateway wrote before closing. */
async function stallOn(url: string, head: string, start: string): Promise<string> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  let response = "";
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => (response += chunk));
  socket.on("error", () => undefined);
  await new Promise((resolve) => socket.once("connect", resolve));
  const closed = new Promise((resolve) => socket.once("close", resolve));
  socket.write(head + start);
  await closed;
  return response;
}

describe("a body that stalls on the OpenAI face", () => {
  it("is cut with 408 in OpenAI's shape and one failed line REQUEST_TIMEOUT, JSON or multipart", async () => {
    const h = await startHarness({ env: { BODY_IDLE_TIMEOUT_MS: "300" } });
    try {
      const json = await stallOn(
        h.url,
        "POST /v1/images/generations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 5000\r\nx-request-id: stall-json\r\n\r\n",
        '{"model":"Qwen/Qwen-Image","prompt":"',
      );
      const boundary = "----stall";
      const multipart = await stallOn(
        h.url,
        `POST /v1/images/edits HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: 500000\r\nx-request-id: stall-form\r\n\r\n`,
        `--${boundary}\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nedit\r\n--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n\x89PNG`,
      );
      for (const response of [json, multipart]) {
        expect(response).toMatch(/^HTTP\/1.1 408/);
        const body = JSON.parse(response.slice(response.indexOf("\r\n\r\n") + 4)) as OpenAIError;
        expect(body.error).toMatchObject({ code: "REQUEST_TIMEOUT", param: null, type: "invalid_request_error" });
      }
      // The parser fails too once the connection is cut: still one line per request.
      await new Promise((resolve) => setTimeout(resolve, 200));
      const lines = await h.logLines();
      expect(lines.map((line) => [line.request_id, line.api, line.status, line.error_code])).toEqual([
        ["stall-json", "openai", "failed", "REQUEST_TIMEOUT"],
        ["stall-form", "openai", "failed", "REQUEST_TIMEOUT"],
      ]);
      expect(h.simulator.received).toHaveLength(0);
    } finally {
      await h.close();
    }
  });
});
