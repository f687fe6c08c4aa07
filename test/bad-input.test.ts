import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GENERATE, imageSlots, multipartBody, postJson, postMultipart, startHarness, type Harness } from "./support/harness.js";
import { noisyPng, solidPng } from "./support/images.js";
import { waitFor } from "./support/wait.js";

interface Payload {
  generateImages: { callId: string; images: Array<{ url: string }> };
}
const textToImage = { model: "Qwen/Qwen-Image", prompt: "a kite" };

describe("bad input never crashes, hangs or leaks", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ config: { uploads: { maxBytes: 300_000, maxInputPixels: 4_000_000 } } });
  });
  afterAll(async () => {
    await h.close();
  });

  const editWith = (files: Array<{ data: Buffer; path?: string }>, slots = files.length) =>
    postMultipart<Payload>(
      h.graphqlUrl,
      GENERATE,
      { input: { model: "Qwen/Qwen-Image-Edit-2509", prompt: "edit", images: imageSlots(slots) } },
      files.map((f, i) => ({ path: f.path ?? `variables.input.images.${i}`, data: f.data })),
    );

  it("a truncated JPEG", async () => {
    const jpeg = await sharp({ create: { width: 300, height: 200, channels: 3, background: "#000", noise: { type: "gaussian", mean: 128, sigma: 30 } } })
      .jpeg()
      .toBuffer();
    const { body } = await editWith([{ data: jpeg.subarray(0, jpeg.length >> 1) }]);
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.images[0]" });
  });

  it("a decompression bomb (few bytes, many pixels)", async () => {
    const bomb = await sharp({ create: { width: 5000, height: 5000, channels: 3, background: "#fff" } }).png({ compressionLevel: 9 }).toBuffer();
    expect(bomb.length).toBeLessThan(300_000);
    const { body } = await editWith([{ data: bomb }]);
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.images[0]" });
    expect(body.errors?.[0]?.message).toMatch(/4000000 pixels/);
  });

  it("too many files: PAYLOAD_TOO_LARGE as GraphQL JSON, with a log line", async () => {
    const png = await solidPng(8, 8, "#123");
    const before = (await h.logLines()).length;
    const { status, body } = await editWith([0, 1, 2, 3].map(() => ({ data: png })));
    expect(status).toBe(413);
    expect(body.errors?.[0]?.extensions?.code).toBe("PAYLOAD_TOO_LARGE");
    const lines = await h.logLines();
    expect(lines).toHaveLength(before + 1);
    expect(lines.at(-1)).toMatchObject({ status: "failed", error_code: "PAYLOAD_TOO_LARGE" });
  });

  it("a request whose declared size is over the limit is refused before parsing", async () => {
    const response = await fetch(h.graphqlUrl, {
      method: "POST",
      headers: { "content-type": "multipart/form-data; boundary=x", "apollo-require-preflight": "1", "content-length": String(50_000_000) },
      body: "--x--\r\n",
      duplex: "half",
    } as RequestInit).catch((error: unknown) => error as Error);
    // Either the server answers 413 at once, or closes the connection on the lying length: never a hang or a 500.
    if (response instanceof Response) {
      expect(response.status).toBe(413);
      expect(((await response.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code).toBe("PAYLOAD_TOO_LARGE");
    }
  });

  it("a file missing from the multipart body", async () => {
    const png = await solidPng(8, 8, "#123");
    const form = multipartBody(GENERATE, { input: { model: "Qwen/Qwen-Image-Edit-2509", prompt: "x", images: imageSlots(2) } }, [
      { path: "variables.input.images.0", data: png },
    ]);
    form.set("map", JSON.stringify({ 0: ["variables.input.images.0"], 1: ["variables.input.images.1"] }));
    const response = await fetch(h.graphqlUrl, { method: "POST", headers: { "apollo-require-preflight": "1" }, body: form });
    const body = (await response.json()) as { errors: Array<{ message: string; extensions: { code: string; field?: string } }> };
    expect(body.errors[0]!.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.images[1]" });
    expect(body.errors[0]!.message).toMatch(/missing/);
  });

  it.each([
    ["malformed JSON", "application/json", '{"query": "mutation {', 400],
    ["malformed multipart", "multipart/form-data; boundary=abc", "this is not multipart at all", 400],
    ["operations that are not JSON", "multipart/form-data; boundary=abc", '--abc\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{nope\r\n--abc--\r\n', 400],
  ])("%s gets a GraphQL JSON error", async (_name, contentType, body, status) => {
    const response = await fetch(h.graphqlUrl, { method: "POST", headers: { "content-type": contentType, "apollo-require-preflight": "1" }, body });
    expect(response.status).toBe(status);
    expect(response.headers.get("content-type")).toMatch(/application\/json/);
    const json = (await response.json()) as { errors: Array<{ message: string; extensions: { code: string } }> };
    expect(json.errors[0]!.extensions.code).toBe("BAD_USER_INPUT");
    expect(JSON.stringify(json)).not.toMatch(/\/work\/|node_modules|at .*\.js:\d+/);
  });

  it("batched HTTP requests are off", async () => {
    const response = await fetch(h.graphqlUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify([{ query: "{ health { status } }" }, { query: "{ health { status } }" }]),
    });
    expect(response.status).toBe(400);
  });

  it("an unknown path is JSON 404, not an HTML page", async () => {
    const response = await fetch(`${h.url}/wp-admin`);
    expect(response.status).toBe(404);
    expect(response.headers.get("content-type")).toMatch(/json/);
    await response.arrayBuffer();
  });
});

describe("a client gone mid-call", () => {
  it("the paid call still completes: output stored, line written, nothing crashes", async () => {
    const h = await startHarness({ simulator: { latencyMs: 500 } });
    try {
      const controller = new AbortController();
      const pending = fetch(h.graphqlUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: GENERATE, variables: { input: { ...textToImage, prompt: "abandoned" } } }),
        signal: controller.signal,
      }).catch((error: unknown) => error);
      await waitFor(async () => (h.simulator.received.length > 0 ? true : undefined));
      controller.abort();
      expect(await pending).toBeInstanceOf(Error);
      const line = await waitFor(async () => (await h.logLines()).find((l) => l.prompt === "abandoned"));
      expect(line.status).toBe("success");
      const stored = await fetch(line.output_images[0]!.url);
      expect(stored.status).toBe(200);
      await stored.arrayBuffer();
      const after = await postJson(h.graphqlUrl, `{ health { status } }`);
      expect(after.body.data).toBeTruthy();
    } finally {
      await h.close();
    }
  });
});

it("a large noisy upload still passes when within limits", async () => {
  const h = await startHarness();
  try {
    const png = await noisyPng(900, 700);
    const { body } = await postMultipart<Payload>(h.graphqlUrl, GENERATE, { input: { model: "Qwen/Qwen-Image-Edit", prompt: "x", images: imageSlots(1) } }, [
      { path: "variables.input.images.0", data: png },
    ]);
    expect(body.errors).toBeUndefined();
  } finally {
    await h.close();
  }
});

describe("a refused upload is still read to its end", () => {
  it("a large upload refused by validation gets its error, not a reset connection", async () => {
    const h = await startHarness();
    try {
      const big = await noisyPng(1600, 1200);
      // Qwen-Image takes no input image: refused by validation before the file is read.
      for (let i = 0; i < 3; i += 1) {
        const { body } = await postMultipart(h.graphqlUrl, GENERATE, { input: { model: "Qwen/Qwen-Image", prompt: "x", images: imageSlots(1) } }, [
          { path: "variables.input.images.0", data: big },
        ]);
        expect(body.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.images" });
      }
      const after = await postJson(h.graphqlUrl, `{ health { status } }`);
      expect(after.body.errors).toBeUndefined();
    } finally {
      await h.close();
    }
  });
});

describe("a refused upload is still read to its end, whoever refused it", () => {
  it("refusals before execution (operation caps, invalid documents) do not hang on unread files", async () => {
    const h = await startHarness({ config: { limits: { maxGenerationsPerRequest: 1 } } });
    try {
      const big = await noisyPng(1600, 1200);
      const twoCalls = `mutation($input: GenerateImagesInput!) { a: generateImages(input: $input) { callId } b: generateImages(input: $input) { callId } }`;
      const capped = await postMultipart(h.graphqlUrl, twoCalls, { input: { model: "Qwen/Qwen-Image-Edit", prompt: "x", images: imageSlots(1) } }, [
        { path: "variables.input.images.0", data: big },
      ]);
      expect(capped.body.errors?.[0]?.message).toMatch(/at most 1 generateImages/);
      const invalid = await postMultipart(h.graphqlUrl, `mutation($input: GenerateImagesInput!) { generateImages(input: $input) { nope } }`, {
        input: { model: "Qwen/Qwen-Image-Edit", prompt: "x", images: imageSlots(1) },
      }, [{ path: "variables.input.images.0", data: big }]);
      expect(invalid.body.errors?.[0]?.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
    } finally {
      await h.close();
    }
  }, 20_000);
});
