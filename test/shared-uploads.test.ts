import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GENERATE, imageSlots, postJson, startHarness, type GraphQLResponse, type Harness } from "./support/harness.js";
import { dataUrlBytes, noisyPng } from "./support/images.js";

/**
 * The multipart spec lets `map` list one file part under several paths. These requests are built by
 * hand so the map can say so, and so can a variable used by two fields (one path, two readers).
 */
async function postShared(url: string, query: string, variables: Record<string, unknown>, paths: string[], data: Buffer): Promise<GraphQLResponse> {
  const form = new FormData();
  form.append("operations", JSON.stringify({ query, variables }));
  form.append("map", JSON.stringify({ "0": paths }));
  form.append("0", new Blob([new Uint8Array(data)], { type: "image/png" }), "shared.png");
  const response = await fetch(url, { method: "POST", headers: { "apollo-require-preflight": "true" }, body: form });
  return { status: response.status, headers: response.headers, body: (await response.json()) as GraphQLResponse["body"] };
}

const edit = (images: number) => ({ input: { model: "Qwen/Qwen-Image-Edit-2509", prompt: "edit", cfg: 4, images: imageSlots(images) } });

describe("one file under several paths", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ config: { uploads: { maxBytes: 200_000 } } });
  });
  afterAll(async () => {
    await h.close();
  });

  it("every path of one call gets the same bytes", async () => {
    const picture = await noisyPng(120, 80);
    const before = h.simulator.received.length;
    const paths = ["variables.input.images.0", "variables.input.images.1", "variables.input.images.2"];
    const { body } = await postShared(h.graphqlUrl, GENERATE, edit(3), paths, picture);
    expect(body.errors).toBeUndefined();
    expect(h.simulator.received.length).toBe(before + 1);
    const sent = h.simulator.received.at(-1)!.body;
    for (const field of ["image", "image2", "image3"]) expect(Buffer.compare(dataUrlBytes(sent[field]).bytes, picture)).toBe(0);
    const line = (await h.logLines()).at(-1)!;
    expect(line.status).toBe("success");
    expect(line.input_images).toHaveLength(3);
  });

  it("two calls of one request using the same variable both get the file", async () => {
    const picture = await noisyPng(90, 60);
    const twoCalls = `mutation($input: GenerateImagesInput!) {
      a: generateImages(input: $input) { callId }
      b: generateImages(input: $input) { callId }
    }`;
    const before = h.simulator.received.length;
    const { body } = await postShared(h.graphqlUrl, twoCalls, edit(1), ["variables.input.images.0"], picture);
    expect(body.errors).toBeUndefined();
    expect(h.simulator.received.length).toBe(before + 2);
    for (const received of h.simulator.received.slice(-2)) {
      expect(Buffer.compare(dataUrlBytes(received.body.image).bytes, picture)).toBe(0);
    }
  });

  it("a shared file over MAX_UPLOAD_BYTES is refused for the call, not read as half a file", async () => {
    const big = await noisyPng(400, 300);
    expect(big.length).toBeGreaterThan(200_000);
    const before = h.simulator.received.length;
    const { status, body } = await postShared(h.graphqlUrl, GENERATE, edit(2), ["variables.input.images.0", "variables.input.images.1"], big);
    expect(status).toBe(413);
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: "PAYLOAD_TOO_LARGE", field: "input.images[0]" });
    expect(h.simulator.received.length).toBe(before);
    expect((await h.logLines()).at(-1)).toMatchObject({ status: "failed", error_code: "PAYLOAD_TOO_LARGE" });
  });

  it("a shared file nobody reads is still drained: the refusal arrives and the gateway goes on", async () => {
    const picture = await noisyPng(300, 200);
    // Qwen-Image takes no input image: refused before the file is read.
    const refused = { input: { model: "Qwen/Qwen-Image", prompt: "x", images: imageSlots(2) } };
    const paths = ["variables.input.images.0", "variables.input.images.1"];
    const { body } = await postShared(h.graphqlUrl, GENERATE, refused, paths, picture.subarray(0, 150_000));
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.images" });
    const after = await postJson(h.graphqlUrl, `{ health { status } }`);
    expect(after.body.errors).toBeUndefined();
  });
});
