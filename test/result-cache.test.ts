import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { imageSlots, postJson, postMultipart, startHarness, type Harness } from "./support/harness.js";
import { solidPng } from "./support/images.js";

const GENERATE_CACHED = /* GraphQL */ `
  mutation Generate($input: GenerateImagesInput!) {
    generateImages(input: $input) { callId cacheHit seed images { url bytes } }
  }
`;
interface Payload {
  generateImages: { callId: string; cacheHit: boolean; seed: number; images: Array<{ url: string; bytes: number }> };
}

describe("result cache", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it("a repeat with an explicit seed is answered from the cache, not billed again", async () => {
    const png = await solidPng(100, 80, "#ff00ff");
    const call = () =>
      postMultipart<Payload>(h.graphqlUrl, GENERATE_CACHED, { input: { model: "Qwen/Qwen-Image-Edit", prompt: "same", seed: 77, images: imageSlots(1) } }, [
        { path: "variables.input.images.0", data: png },
      ]);
    const first = await call();
    const sent = h.simulator.received.length;
    const second = await call();
    expect(first.body.data!.generateImages.cacheHit).toBe(false);
    expect(second.body.data!.generateImages.cacheHit).toBe(true);
    expect(h.simulator.received.length).toBe(sent);
    expect(second.body.data!.generateImages.images.map((i) => i.url)).toEqual(first.body.data!.generateImages.images.map((i) => i.url));
    expect(second.body.data!.generateImages.seed).toBe(77);
    const line = (await h.logLines()).find((l) => l.call_id === second.body.data!.generateImages.callId)!;
    expect(line).toMatchObject({ status: "success", cache_hit: true, seed_used: 77 });
    expect(line.input_images[0]!.size).toEqual([100, 80]);
    expect(line.output_images).toHaveLength(1);

    const otherBytes = await postMultipart<Payload>(
      h.graphqlUrl,
      GENERATE_CACHED,
      { input: { model: "Qwen/Qwen-Image-Edit", prompt: "same", seed: 77, images: imageSlots(1) } },
      [{ path: "variables.input.images.0", data: await solidPng(100, 80, "#ff00fe") }],
    );
    expect(otherBytes.body.data!.generateImages.cacheHit).toBe(false);
  });

  it("cache: false bypasses it, and calls without a seed are never cached", async () => {
    const input = { model: "Qwen/Qwen-Image", prompt: "bypass", seed: 12 };
    await postJson<Payload>(h.graphqlUrl, GENERATE_CACHED, { input });
    const before = h.simulator.received.length;
    const bypass = await postJson<Payload>(h.graphqlUrl, GENERATE_CACHED, { input: { ...input, cache: false } });
    expect(bypass.body.data!.generateImages.cacheHit).toBe(false);
    expect(h.simulator.received.length).toBe(before + 1);
    const unseeded = { model: "Qwen/Qwen-Image", prompt: "no seed" };
    await postJson<Payload>(h.graphqlUrl, GENERATE_CACHED, { input: unseeded });
    const again = await postJson<Payload>(h.graphqlUrl, GENERATE_CACHED, { input: unseeded });
    expect(again.body.data!.generateImages.cacheHit).toBe(false);
    expect(h.simulator.received.length).toBe(before + 3);
    const other = await postJson<Payload>(h.graphqlUrl, GENERATE_CACHED, { input: { ...input, prompt: "bypass!" } });
    expect(other.body.data!.generateImages.cacheHit).toBe(false);
  });
});

describe("result cache, the same seeded call in flight (one gateway, no Redis)", () => {
  it("is sent upstream once; the others wait for it and are answered from it; a failed one lets the next run", async () => {
    const h = await startHarness({ simulator: { latencyMs: 300 }, config: { siliconflow: { maxRetries: 0 } } });
    try {
      const input = { model: "Qwen/Qwen-Image", prompt: "all at once", seed: 5 };
      const results = await Promise.all([0, 1, 2].map(() => postJson<Payload>(h.graphqlUrl, GENERATE_CACHED, { input })));
      expect(results.map((r) => r.body.data!.generateImages.cacheHit).sort()).toEqual([false, true, true]);
      expect(h.simulator.received).toHaveLength(1);

      h.simulator.addFault({ fault: { kind: "status", status: 400, body: '{"message":"no"}' }, times: 1 });
      const failing = { ...input, prompt: "the first fails" };
      const [first, second] = await Promise.all([0, 1].map(() => postJson<Payload>(h.graphqlUrl, GENERATE_CACHED, { input: failing })));
      expect(first!.body.errors?.[0]?.extensions?.code).toBe("UPSTREAM_BAD_REQUEST");
      expect(second!.body.data!.generateImages.cacheHit).toBe(false);
      expect(h.simulator.received).toHaveLength(3);
    } finally {
      await h.close();
    }
  });
});
