import { openAsBlob } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGatewayClient, extractFiles, GatewayClientError, GenerateImagesDocument, HealthDocument, type GatewayClient } from "../sdk/index.js";
import { startHarness, TEST_API_KEY, type Harness } from "./support/harness.js";
import { dataUrlBytes, solidJpeg, solidPng } from "./support/images.js";

interface SentRequest {
  headers: Headers;
  contentType: string;
  body: BodyInit | null | undefined;
}

/** The global fetch, with every request's headers kept for assertions. */
function recordingFetch(sent: SentRequest[]): typeof fetch {
  return async (input, init) => {
    const headers = new Headers(init?.headers);
    sent.push({ headers, contentType: headers.get("content-type") ?? "", body: init?.body });
    return fetch(input, init);
  };
}

/** The GatewayClientError a call fails with; fails the test if it succeeds or fails otherwise. */
async function failure(call: Promise<unknown>): Promise<GatewayClientError> {
  const outcome = await call.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(GatewayClientError);
  return outcome as GatewayClientError;
}

async function fetchImage(url: string): Promise<{ type: string | null; bytes: Buffer }> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  return { type: response.headers.get("content-type"), bytes: Buffer.from(await response.arrayBuffer()) };
}

describe("the typed SDK against the real gateway", () => {
  let h: Harness;
  let client: GatewayClient;
  const sent: SentRequest[] = [];

  beforeAll(async () => {
    h = await startHarness();
    client = createGatewayClient({ url: h.graphqlUrl, token: "client-token-123", fetch: recordingFetch(sent) });
  });
  afterAll(async () => {
    await h.close();
  });

  it("uploads a File and a Blob to Qwen/Qwen-Image-Edit-2509 as a multipart request and gets an image back", async () => {
    const red = await solidPng(640, 480, "#ff0000");
    const green = await solidJpeg(300, 300, "#00ff00");
    const before = h.simulator.received.length;

    const result = await client.generateImages({
      model: "Qwen/Qwen-Image-Edit-2509",
      prompt: "put the red square on the green one",
      cfg: 4,
      seed: 1234,
      images: [new File([new Uint8Array(red)], "red.png", { type: "image/png" }), new Blob([new Uint8Array(green)], { type: "image/jpeg" })],
    });

    const request = sent.at(-1)!;
    expect(request.contentType).toBe("");
    expect(request.body).toBeInstanceOf(FormData);
    const form = request.body as FormData;
    expect(JSON.parse(form.get("map") as string)).toEqual({ "0": ["variables.input.images.0"], "1": ["variables.input.images.1"] });
    expect(JSON.parse(form.get("operations") as string).variables.input.images).toEqual([null, null]);

    expect(result.provider).toBe("SILICONFLOW");
    expect(result.model).toBe("Qwen/Qwen-Image-Edit-2509");
    expect(result.seed).toBe(1234);
    expect(result.images).toHaveLength(1);

    // Both files reached SiliconFlow intact and in order.
    expect(h.simulator.received.length).toBe(before + 1);
    const upstream = h.simulator.received.at(-1)!.body;
    const image = dataUrlBytes(upstream.image);
    const image2 = dataUrlBytes(upstream.image2);
    expect([image.mime, image2.mime]).toEqual(["image/png", "image/jpeg"]);
    expect(Buffer.compare(image.bytes, red)).toBe(0);
    expect(Buffer.compare(image2.bytes, green)).toBe(0);

    const output = result.images[0];
    expect(output!.url.startsWith(`${h.url}/images/`)).toBe(true);
    const served = await fetchImage(output!.url);
    expect(served.type).toBe(output!.mimeType);
    expect(served.bytes.length).toBe(output!.bytes);
    const meta = await sharp(served.bytes).metadata();
    expect(meta.format).toBe(output!.mimeType.replace("image/", ""));
    expect([meta.width, meta.height]).toEqual([output!.width, output!.height]);
  });

  it("uploads a file from disk with fs.openAsBlob, as docs/clients.md shows", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "sdk-upload-"));
    try {
      const png = await solidPng(256, 256, "#884400");
      await writeFile(path.join(dir, "cat.png"), png);
      const photo = await openAsBlob(path.join(dir, "cat.png"), { type: "image/png" });
      const result = await client.generateImages({ model: "Qwen/Qwen-Image-Edit-2509", prompt: "x", images: [photo] });
      expect(result.images).toHaveLength(1);
      expect(Buffer.compare(dataUrlBytes(h.simulator.received.at(-1)!.body.image).bytes, png)).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("text-to-image goes as plain JSON, with a seed past 32 bits", async () => {
    const result = await client.generateImages({ model: "Kwai-Kolors/Kolors", prompt: "a lighthouse", imageSize: "768x1024", batchSize: 2, seed: 9_999_999_999 });
    expect(sent.at(-1)!.contentType).toBe("application/json");
    expect(result.seed).toBe(9_999_999_999);
    expect(result.images).toHaveLength(2);
    for (const image of result.images) {
      const served = await fetchImage(image.url);
      expect(served.type).toBe("image/png");
      const meta = await sharp(served.bytes).metadata();
      expect([meta.width, meta.height]).toEqual([768, 1024]);
    }
  });

  it("sends the CSRF header and the bearer token on every request", async () => {
    await client.health();
    const { headers } = sent.at(-1)!;
    expect(headers.get("apollo-require-preflight")).toBe("true");
    expect(headers.get("authorization")).toBe("Bearer client-token-123");
    const anonymous: SentRequest[] = [];
    await createGatewayClient({ url: h.graphqlUrl, fetch: recordingFetch(anonymous) }).health();
    expect(anonymous[0]!.headers.has("authorization")).toBe(false);
  });

  it("health and models", async () => {
    const health = await client.health();
    expect(health.provider).toBe("SILICONFLOW");
    expect(["OK", "DEGRADED", "DOWN"]).toContain(health.status);
    expect(health.version).toMatch(/\d+\.\d+\.\d+/);

    const models = await client.models();
    const edit = models.find((m) => m.id === "Qwen/Qwen-Image-Edit-2509");
    expect(edit).toMatchObject({ kind: "IMAGE_EDIT", minInputImages: 1, maxInputImages: 3, guidance: "CFG" });
  });

  it("request() takes any generated document", async () => {
    const data = await client.request(HealthDocument);
    expect(data.health.provider).toBe("SILICONFLOW");
  });

  it("an unknown model throws GatewayClientError with the server's code and field", async () => {
    const clientError = await failure(client.generateImages({ model: "nobody/no-such-model", prompt: "x" }));
    expect(clientError.code).toBe("BAD_USER_INPUT");
    expect(clientError.field).toBe("input.model");
    expect(clientError.message).toMatch(/unknown model "nobody\/no-such-model"/);
    expect(clientError.status).toBeTypeOf("number");
    expect(clientError.errors[0]?.extensions?.code).toBe("BAD_USER_INPUT");
  });

  it("a bad image is refused on its own field, carried by the error", async () => {
    const error = await failure(
      client.generateImages({ model: "Qwen/Qwen-Image-Edit-2509", prompt: "x", images: [new Blob([new TextEncoder().encode("not an image")], { type: "image/png" })] }),
    );
    expect([error.code, error.field]).toEqual(["BAD_USER_INPUT", "input.images[0]"]);
  });

  it("an upstream refusal keeps its code", async () => {
    const wrongKey = await startHarness({ config: { siliconflow: { apiKey: `${TEST_API_KEY}-wrong` } } });
    try {
      const error = await failure(createGatewayClient({ url: wrongKey.graphqlUrl }).generateImages({ model: "Kwai-Kolors/Kolors", prompt: "x" }));
      expect(error.code).toBe("UPSTREAM_UNAUTHORIZED");
    } finally {
      await wrongKey.close();
    }
  });

  it("an unreachable server is a NETWORK_ERROR, a non-GraphQL answer a BAD_RESPONSE", async () => {
    const down = await failure(createGatewayClient({ url: "http://127.0.0.1:1/graphql" }).health());
    expect(down.code).toBe("NETWORK_ERROR");

    const notGraphQL = await failure(createGatewayClient({ url: `${h.url}/images/nothing-here` }).health());
    expect(notGraphQL.code).toBe("BAD_RESPONSE");
    expect(notGraphQL.status).toBe(404);
  });
});

describe("the SDK's types", () => {
  it("require variables exactly when the operation needs them (checked by `npm run typecheck`)", () => {
    // Never called: the compiler is the judge here, through the @ts-expect-error lines.
    const typeChecks = (client: GatewayClient): void => {
      void client.request(HealthDocument);
      // @ts-expect-error -- GenerateImages needs its input
      void client.request(GenerateImagesDocument);
      // @ts-expect-error -- images are File or Blob, not paths
      void client.generateImages({ model: "m", prompt: "p", images: ["cat.png"] });
      void client.request(GenerateImagesDocument, { input: { model: "m", prompt: "p", seed: 9_999_999_999 } });
    };
    expect(typeChecks).toBeTypeOf("function");
  });
});

describe("the SDK's multipart extraction", () => {
  it("sends a file used twice as one part that fills both places", () => {
    const file = new Blob(["x"]);
    const other = new Blob(["y"]);
    const { clone, files } = extractFiles({ input: { images: [file, other, file], prompt: "p", when: new Date(0) } });
    expect(clone).toEqual({ input: { images: [null, null, null], prompt: "p", when: new Date(0) } });
    expect([...files.values()]).toEqual([["variables.input.images.0", "variables.input.images.2"], ["variables.input.images.1"]]);
  });
});

describe("sdk/ bundles for browsers", () => {
  it("imports no Node built-ins and uses no Node globals", async () => {
    const dir = new URL("../sdk/", import.meta.url);
    for (const name of (await readdir(dir)).filter((n) => n.endsWith(".ts"))) {
      const source = await readFile(new URL(name, dir), "utf8");
      expect(source, name).not.toMatch(/from\s+["']node:|require\(|\bBuffer\b|\bprocess\./);
    }
  });
});
