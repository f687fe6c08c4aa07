import OpenAI, { toFile } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "./support/harness.js";
import { dataUrlBytes, noisyPng, solidJpeg, solidPng } from "./support/images.js";

/** The official SDK pointed at the gateway; no retries, so each test sees the gateway's first answer. */
function sdk(h: Harness, apiKey = "unused-without-client-tokens"): OpenAI {
  return new OpenAI({ baseURL: `${h.url}/v1`, apiKey, maxRetries: 0 });
}

/** SiliconFlow's own parameters, sent as extra body fields beside OpenAI's (typed apart: the SDK does not know them). */
interface SiliconFlowExtras {
  negative_prompt?: string;
  seed?: number;
  num_inference_steps?: number;
  guidance_scale?: number;
  cfg?: number;
}

function withExtras<T extends object>(params: T, extras: SiliconFlowExtras): T {
  return { ...params, ...extras };
}

describe("the OpenAI Images API through the official openai SDK", () => {
  let h: Harness;
  let client: OpenAI;
  beforeAll(async () => {
    h = await startHarness();
    client = sdk(h);
  });
  afterAll(async () => {
    await h?.close();
  });

  it("images.generate with n: 2 answers two gateway URLs, sent upstream as batch_size 2, logged once with api openai", async () => {
    const before = h.simulator.received.length;
    const linesBefore = (await h.logLines()).length;
    const result = await client.images.generate({ model: "Kwai-Kolors/Kolors", prompt: "a lighthouse at dusk", n: 2, size: "1024x1024" });
    expect(result.created).toBeGreaterThan(1_600_000_000);
    expect(result.data).toHaveLength(2);
    for (const image of result.data!) {
      expect(image.url).toMatch(new RegExp(`^${h.url}/images/`));
      const served = await fetch(image.url!);
      expect(served.status).toBe(200);
    }
    expect(h.simulator.received.length).toBe(before + 1);
    const sent = h.simulator.received.at(-1)!.body;
    expect(sent).toMatchObject({ model: "Kwai-Kolors/Kolors", prompt: "a lighthouse at dusk", batch_size: 2, image_size: "1024x1024" });

    const lines = await h.logLines();
    expect(lines.length).toBe(linesBefore + 1);
    const extras = result as unknown as { call_id: string; seed: number };
    expect(lines.at(-1)).toMatchObject({ api: "openai", status: "success", call_id: extras.call_id, operation_name: "createImage" });
  });

  it("images.generate with response_format b64_json and SiliconFlow's extras: the extras reach SiliconFlow, the images come inline", async () => {
    const before = h.simulator.received.length;
    const result = await client.images.generate(
      withExtras(
        { model: "Kwai-Kolors/Kolors", prompt: "a red fox in snow", response_format: "b64_json" as const },
        { negative_prompt: "blurry", seed: 1234, num_inference_steps: 20, guidance_scale: 6.5 },
      ),
    );
    expect(h.simulator.received.length).toBe(before + 1);
    expect(h.simulator.received.at(-1)!.body).toMatchObject({ negative_prompt: "blurry", seed: 1234, num_inference_steps: 20, guidance_scale: 6.5 });
    expect(result.data).toHaveLength(1);
    const image = result.data![0]!;
    expect(image.url).toBeUndefined();
    const bytes = Buffer.from(image.b64_json!, "base64");
    // The simulator paints PNGs.
    expect(bytes.subarray(1, 4).toString("latin1")).toBe("PNG");
    expect((result as unknown as { seed: number }).seed).toBe(1234);
  });

  it("images.edit with one file (toFile) sends it as image", async () => {
    const upload = await solidPng(320, 240, "#3366ff");
    const before = h.simulator.received.length;
    const result = await client.images.edit({
      model: "Qwen/Qwen-Image-Edit",
      prompt: "make it a sunset",
      image: await toFile(upload, "photo.png", { type: "image/png" }),
    });
    expect(result.data).toHaveLength(1);
    expect(h.simulator.received.length).toBe(before + 1);
    const sent = h.simulator.received.at(-1)!.body;
    expect(Buffer.compare(dataUrlBytes(sent.image).bytes, upload)).toBe(0);
    expect(sent).not.toHaveProperty("image2");
    expect((await h.logLines()).at(-1)).toMatchObject({ api: "openai", status: "success", operation_name: "createImageEdit" });
  });

  it("images.edit with three files reaches SiliconFlow as image, image2, image3, in order", async () => {
    const uploads = [await solidPng(640, 480, "#ff0000"), await solidJpeg(500, 500, "#00ff00"), await noisyPng(320, 200)];
    const before = h.simulator.received.length;
    const result = await client.images.edit(
      withExtras(
        {
          model: "Qwen/Qwen-Image-Edit-2509",
          prompt: "merge these",
          image: await Promise.all(uploads.map((data, i) => toFile(data, `photo-${i}.bin`, { type: "application/octet-stream" }))),
        },
        { cfg: 4 },
      ),
    );
    expect(result.data).toHaveLength(1);
    expect(h.simulator.received.length).toBe(before + 1);
    const sent = h.simulator.received.at(-1)!.body;
    expect(sent.cfg).toBe(4);
    const received = ["image", "image2", "image3"].map((field) => dataUrlBytes(sent[field]));
    expect(received.map((r) => r.mime)).toEqual(["image/png", "image/jpeg", "image/png"]);
    received.forEach((r, i) => expect(Buffer.compare(r.bytes, uploads[i]!)).toBe(0));
  });

  it("a form repeating `image` (not `image[]`) keeps its order too; size auto is the model's default size", async () => {
    const uploads = [await solidPng(200, 100, "#112233"), await solidPng(100, 200, "#445566")];
    const form = new FormData();
    form.append("model", "Qwen/Qwen-Image-Edit-2509");
    form.append("prompt", "swap them");
    for (const [i, data] of uploads.entries()) form.append("image", new Blob([new Uint8Array(data)], { type: "image/png" }), `p${i}.png`);
    const response = await fetch(`${h.url}/v1/images/edits`, { method: "POST", body: form });
    expect(response.status).toBe(200);
    const sent = h.simulator.received.at(-1)!.body;
    expect(["image", "image2"].map((field) => Buffer.compare(dataUrlBytes(sent[field]).bytes, uploads[field === "image" ? 0 : 1]!))).toEqual([0, 0]);

    await client.images.generate({ model: "Kwai-Kolors/Kolors", prompt: "a kite", size: "auto" });
    expect(h.simulator.received.at(-1)!.body.image_size).toBe("1024x1024");
  });

  it("a 400 is the SDK's BadRequestError, with param naming the field", async () => {
    const before = h.simulator.received.length;
    const error = await client.images.generate({ model: "Kwai-Kolors/Kolors", prompt: "a kite", size: "333x333" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    const bad = error as InstanceType<typeof OpenAI.BadRequestError>;
    expect(bad.status).toBe(400);
    expect(bad.param).toBe("size");
    expect(bad.code).toBe("BAD_USER_INPUT");
    expect(bad.type).toBe("invalid_request_error");
    expect(bad.message).toContain("imageSize must be one of");
    expect(h.simulator.received.length).toBe(before);

    const unknown = (await client.images.generate({ model: "dall-e-3", prompt: "a kite" }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.BadRequestError>;
    expect(unknown).toBeInstanceOf(OpenAI.BadRequestError);
    expect(unknown.param).toBe("model");
    expect(unknown.message).toContain('unknown model "dall-e-3"');
  });

  it("GET /v1/models lists the image models in OpenAI's list shape (the SDK's models.list)", async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) {
      expect(model.object).toBe("model");
      ids.push(model.id);
    }
    expect(ids).toContain("Kwai-Kolors/Kolors");
    expect(ids).toContain("Qwen/Qwen-Image-Edit-2509");
  });
});

describe("the SDK's error classes on refusals", () => {
  it("a 401 without a client token is AuthenticationError, logged failed, nothing upstream", async () => {
    const h = await startHarness({ config: { auth: { tokens: ["team-token-0001"] } } });
    try {
      const error = await sdk(h, "not-a-token")
        .images.generate({ model: "Qwen/Qwen-Image", prompt: "a kite" })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
      expect((error as InstanceType<typeof OpenAI.AuthenticationError>).code).toBe("UNAUTHENTICATED");
      expect(h.simulator.received).toHaveLength(0);
      expect((await h.logLines()).at(-1)).toMatchObject({ api: "openai", status: "failed", error_code: "UNAUTHENTICATED" });
      const ok = await sdk(h, "team-token-0001").images.generate({ model: "Qwen/Qwen-Image", prompt: "a kite" });
      expect(ok.data).toHaveLength(1);
      // The model list stays open unless queries are protected, as GraphQL's `models` does.
      expect((await fetch(`${h.url}/v1/models`)).status).toBe(200);
    } finally {
      await h.close();
    }
  });

  it("with protected queries the model list needs the token too", async () => {
    const h = await startHarness({ config: { auth: { tokens: ["team-token-0001"], protectQueries: true } } });
    try {
      const error = await sdk(h, "not-a-token")
        .models.list()
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
      const page = await sdk(h, "team-token-0001").models.list();
      expect(page.data.length).toBeGreaterThan(0);
    } finally {
      await h.close();
    }
  });

  it("a 429 past the per-client limit is RateLimitError with Retry-After; GraphQL and this face share the count", async () => {
    const h = await startHarness({ config: { rateLimit: { callsPerWindow: 2, windowSeconds: 60 } } });
    try {
      const client = sdk(h);
      await client.images.generate({ model: "Qwen/Qwen-Image", prompt: "one" });
      const graphql = await fetch(h.graphqlUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: `mutation { generateImages(input: { model: "Qwen/Qwen-Image", prompt: "two" }) { callId } }` }),
      });
      expect(((await graphql.json()) as { errors?: unknown }).errors).toBeUndefined();
      const before = h.simulator.received.length;
      const error = await client.images.generate({ model: "Qwen/Qwen-Image", prompt: "three" }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.RateLimitError);
      const limited = error as InstanceType<typeof OpenAI.RateLimitError>;
      expect(limited.code).toBe("RATE_LIMITED");
      expect(Number(limited.headers?.get("retry-after"))).toBeGreaterThan(0);
      expect(h.simulator.received.length).toBe(before);
      expect((await h.logLines()).at(-1)).toMatchObject({ api: "openai", status: "failed", error_code: "RATE_LIMITED" });
    } finally {
      await h.close();
    }
  });
});

describe("the openai SDK in a browser, from an origin CORS allows", () => {
  const origin = "https://app.example";

  it("its preflight allows every header the SDK sends (x-stainless-*, OpenAI-Organization, OpenAI-Project), and the answer exposes Retry-After", async () => {
    const h = await startHarness({ config: { corsOrigins: [origin], rateLimit: { callsPerWindow: 1, windowSeconds: 60 } } });
    try {
      // The SDK's own headers, as this version sends them: a browser asks the preflight for each of them.
      const sent = new Set<string>();
      const recording = (url: string | URL | Request, init?: RequestInit): Promise<Response> => {
        new Headers(init?.headers).forEach((_value, name) => sent.add(name));
        return fetch(url, init);
      };
      const client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: "unused", organization: "org-1", project: "proj-1", maxRetries: 0, timeout: 30_000, fetch: recording });
      await client.images.generate({ model: "Qwen/Qwen-Image", prompt: "a kite" });
      expect([...sent]).toEqual(expect.arrayContaining(["x-stainless-os", "x-stainless-retry-count", "openai-organization", "openai-project"]));
      // CORS-safelisted headers need no permission; the rest are asked for.
      const asked = [...sent].filter((name) => name !== "accept" && name !== "content-length");

      const preflight = await fetch(`${h.url}/v1/images/generations`, {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": asked.join(",") },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get("access-control-allow-origin")).toBe(origin);
      const allowed = (preflight.headers.get("access-control-allow-headers") ?? "").toLowerCase().split(/\s*,\s*/);
      expect(asked.filter((name) => !allowed.includes(name))).toEqual([]);

      // A 429 the browser's SDK can wait out: Retry-After is readable cross-origin.
      const limited = await fetch(`${h.url}/v1/images/generations`, {
        method: "POST",
        headers: { origin, "content-type": "application/json" },
        body: JSON.stringify({ model: "Qwen/Qwen-Image", prompt: "again" }),
      });
      expect(limited.status).toBe(429);
      const exposed = (limited.headers.get("access-control-expose-headers") ?? "").toLowerCase().split(/\s*,\s*/);
      expect(exposed).toEqual(expect.arrayContaining(["retry-after", "x-request-id"]));
    } finally {
      await h.close();
    }
  });
});

describe("a caller's own SiliconFlow key on the OpenAI face (X-SiliconFlow-Api-Key), as on GraphQL", () => {
  it("reaches SiliconFlow, and its line masks it wherever it appears, even in a shape no pattern knows", async () => {
    const own = "ownkey-abcdefghijklmnop-123456";
    const h = await startHarness({ config: { auth: { allowClientApiKey: true } }, simulator: { apiKey: undefined } });
    try {
      const client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: "unused", maxRetries: 0, defaultHeaders: { "x-siliconflow-api-key": own } });
      await client.images.generate({ model: "Qwen/Qwen-Image", prompt: `a kite, and my key is ${own}` });
      expect(h.simulator.received.at(-1)!.headers.authorization).toBe(`Bearer ${own}`);
      const line = (await h.logLines()).at(-1)!;
      expect(line).toMatchObject({ api: "openai", status: "success", api_key: "ownk****3456", prompt: "a kite, and my key is ownk****3456" });
      expect(JSON.stringify(await h.logLines())).not.toContain(own);
    } finally {
      await h.close();
    }
  });
});
