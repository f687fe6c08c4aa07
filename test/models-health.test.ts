import { writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { builtinModels } from "../src/simulator/simulator.js";
import { GENERATE, imageSlots, postJson, postMultipart, startHarness, type Harness } from "./support/harness.js";
import { solidPng } from "./support/images.js";

const MODELS = /* GraphQL */ `
  query {
    models { id displayName kind minInputImages maxInputImages imageSizes defaultImageSize maxBatchSize guidance
      guidanceRange { min max default } steps { min max default } negativePrompt acceptsSeed seedRange { min max } available source }
  }
`;
const HEALTH = /* GraphQL */ `query { health { status provider version uptimeSeconds upstream { reachable latencyMs checkedAt error } models { id available } } }`;

interface ModelRow {
  id: string;
  kind: string;
  maxInputImages: number;
  imageSizes: string[];
  maxBatchSize: number;
  guidance: string;
  available: boolean;
  source: string;
  guidanceRange: { min: number; max: number; default: number | null } | null;
  steps: { min: number; max: number; default: number | null };
}

describe("validation against the model's capabilities, before any upstream call", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ config: { limits: { maxPromptLength: 50 } } });
  });
  afterAll(async () => {
    await h.close();
  });

  const cases: Array<[string, Record<string, unknown>, string, RegExp]> = [
    ["unknown model", { model: "nobody/none", prompt: "x" }, "input.model", /unknown model "nobody\/none"; available models: .*Kwai-Kolors\/Kolors/],
    ["empty prompt", { model: "Qwen/Qwen-Image", prompt: "" }, "input.prompt", /must not be empty/],
    ["blank prompt", { model: "Qwen/Qwen-Image", prompt: "   \t " }, "input.prompt", /whitespace/],
    ["prompt too long", { model: "Qwen/Qwen-Image", prompt: "x".repeat(51) }, "input.prompt", /longer than 50 characters/],
    ["size not offered", { model: "Qwen/Qwen-Image", prompt: "x", imageSize: "1024x1024" }, "input.imageSize", /imageSize must be one of 1328x1328/],
    ["size for an edit model", { model: "Qwen/Qwen-Image-Edit", prompt: "x" }, "input.images", /at least 1 image/],
    ["batch above the model's max", { model: "Kwai-Kolors/Kolors", prompt: "x", batchSize: 5 }, "input.batchSize", /between 1 and 4/],
    ["batch of 0", { model: "Kwai-Kolors/Kolors", prompt: "x", batchSize: 0 }, "input.batchSize", /between 1 and 4/],
    ["batch for a model without batches", { model: "Qwen/Qwen-Image", prompt: "x", batchSize: 2 }, "input.batchSize", /must be 1/],
    ["steps 0", { model: "Qwen/Qwen-Image", prompt: "x", numInferenceSteps: 0 }, "input.numInferenceSteps", /between 1 and 100/],
    ["steps 101", { model: "Qwen/Qwen-Image", prompt: "x", numInferenceSteps: 101 }, "input.numInferenceSteps", /between 1 and 100/],
    ["guidance above 20", { model: "Kwai-Kolors/Kolors", prompt: "x", guidanceScale: 20.5 }, "input.guidanceScale", /between 0 and 20/],
    ["guidance for a cfg model", { model: "Qwen/Qwen-Image", prompt: "x", guidanceScale: 5 }, "input.guidanceScale", /takes cfg, not guidanceScale/],
    ["cfg below 0.1", { model: "Qwen/Qwen-Image", prompt: "x", cfg: 0.05 }, "input.cfg", /between 0.1 and 20/],
    ["seed above the maximum", { model: "Qwen/Qwen-Image", prompt: "x", seed: 10_000_000_000 }, "input.seed", /9999999999/],
    ["negative seed", { model: "Qwen/Qwen-Image", prompt: "x", seed: -1 }, "input.seed", /between 0 and 9999999999/],
  ];

  it.each(cases)("%s → BAD_USER_INPUT on its field, nothing sent upstream", async (_name, input, field, message) => {
    const before = h.simulator.received.length;
    const { body } = await postJson(h.graphqlUrl, GENERATE, { input });
    expect(body.errors).toHaveLength(1);
    const error = body.errors![0];
    expect(error!.extensions).toMatchObject({ code: "BAD_USER_INPUT", field });
    expect(error!.message).toMatch(message);
    expect(h.simulator.received.length).toBe(before);
  });

  it("too many images for the model", async () => {
    const before = h.simulator.received.length;
    const png = await solidPng(8, 8, "#000");
    const { body } = await postMultipart(
      h.graphqlUrl,
      GENERATE,
      { input: { model: "Qwen/Qwen-Image-Edit", prompt: "x", images: imageSlots(2) } },
      [0, 1].map((i) => ({ path: `variables.input.images.${i}`, data: png })),
    );
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.images" });
    expect(body.errors?.[0]?.message).toMatch(/at most 1 image/);
    expect(h.simulator.received.length).toBe(before);
  });

  it("a text-to-image model refuses input images", async () => {
    const png = await solidPng(8, 8, "#000");
    const { body } = await postMultipart(h.graphqlUrl, GENERATE, { input: { model: "Qwen/Qwen-Image", prompt: "x", images: imageSlots(1) } }, [
      { path: "variables.input.images.0", data: png },
    ]);
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.images" });
  });

  it("parameters a model does not take are not sent upstream", async () => {
    const { body } = await postJson(h.graphqlUrl, GENERATE, { input: { model: "Tongyi-MAI/Z-Image-Turbo", prompt: "x", numInferenceSteps: 8, seed: 1 } });
    expect(body.errors).toBeUndefined();
    const sent = h.simulator.received.at(-1)!.body;
    expect(sent).toMatchObject({ model: "Tongyi-MAI/Z-Image-Turbo", num_inference_steps: 8, seed: 1, image_size: "1024x1024" });
    for (const absent of ["cfg", "guidance_scale", "batch_size", "image"]) expect(sent).not.toHaveProperty(absent);
  });

  it("no GraphQL answer may be stored by a cache: queries, generations and refusals", async () => {
    const answers = [
      await postJson(h.graphqlUrl, `{ health { status } }`),
      await postJson(h.graphqlUrl, GENERATE, { input: { model: "Kwai-Kolors/Kolors", prompt: "x" } }),
      await postJson(h.graphqlUrl, GENERATE, { input: { model: "Kwai-Kolors/Kolors", prompt: "" } }),
      await postJson(h.graphqlUrl, `{ nope }`),
    ];
    expect(answers[2]!.body.errors).toBeDefined();
    for (const { headers } of answers) expect(headers.get("cache-control")).toBe("no-store");
  });

  it("lists the models with what a UI needs", async () => {
    const { body } = await postJson<{ models: ModelRow[] }>(h.graphqlUrl, MODELS);
    expect(body.errors).toBeUndefined();
    const byId = new Map(body.data!.models.map((m) => [m.id, m]));
    for (const id of ["Kwai-Kolors/Kolors", "Qwen/Qwen-Image", "Qwen/Qwen-Image-Edit", "Qwen/Qwen-Image-Edit-2509", "Tongyi-MAI/Z-Image-Turbo"]) {
      expect(byId.get(id)?.available).toBe(true);
    }
    expect(byId.get("Kwai-Kolors/Kolors")).toMatchObject({ kind: "TEXT_TO_IMAGE", maxBatchSize: 4, guidance: "GUIDANCE_SCALE", guidanceRange: { min: 0, max: 20, default: 7.5 } });
    expect(byId.get("Qwen/Qwen-Image-Edit-2509")).toMatchObject({ kind: "IMAGE_EDIT", maxInputImages: 3, imageSizes: [], guidance: "CFG", maxBatchSize: 1 });
    expect(byId.get("Qwen/Qwen-Image")!.steps).toEqual({ min: 1, max: 100, default: 20 });
    // SiliconFlow's seed reaches past GraphQL's Int: a UI reads the bound here rather than keeping a copy.
    expect(byId.get("Qwen/Qwen-Image")).toMatchObject({ acceptsSeed: true, seedRange: { min: 0, max: 9_999_999_999 } });
    const one = await postJson<{ model: ModelRow | null }>(h.graphqlUrl, `query { model(id: "Qwen/Qwen-Image-Edit") { id maxInputImages } }`);
    expect(one.body.data!.model).toMatchObject({ id: "Qwen/Qwen-Image-Edit", maxInputImages: 1 });
    const none = await postJson<{ model: ModelRow | null }>(h.graphqlUrl, `query { model(id: "nope") { id } }`);
    expect(none.body.data!.model).toBeNull();
  });
});

describe("models from the configuration file", () => {
  const added = { id: "acme/Poster-1", imageSizes: ["512x512", "512x768"], maxBatchSize: 2, guidance: "CFG" };
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      configYaml: `models:\n  - id: acme/Poster-1\n    displayName: Acme Poster\n    imageSizes: ["512x512", "512x768"]\n    maxBatchSize: 2\n    guidance: CFG\n  - id: Kwai-Kolors/Kolors\n    maxBatchSize: 2\n`,
      simulator: {
        models: [
          ...builtinModels,
          { id: added.id, sizes: added.imageSizes, maxBatch: 2, maxImages: 0, minImages: 0, guidance: "cfg", defaultSize: "512x512" },
          { id: "acme/Later-2", sizes: ["640x640"], maxBatch: 1, maxImages: 0, minImages: 0, guidance: "none", defaultSize: "640x640" },
        ],
      },
    });
  });
  afterAll(async () => {
    await h.close();
  });

  it("lists an added model and calls it; an override narrows a built-in", async () => {
    const { body } = await postJson<{ models: ModelRow[] }>(h.graphqlUrl, MODELS);
    const poster = body.data!.models.find((m) => m.id === added.id);
    expect(poster).toMatchObject({ source: "CONFIG", imageSizes: added.imageSizes, maxBatchSize: 2, guidance: "CFG", available: true });
    const generated = await postJson<{ generateImages: { images: Array<{ width: number; height: number }> } }>(h.graphqlUrl, GENERATE, {
      input: { model: added.id, prompt: "a poster", imageSize: "512x768", batchSize: 2, cfg: 3 },
    });
    expect(generated.body.errors).toBeUndefined();
    expect(generated.body.data!.generateImages.images.map((i) => [i.width, i.height])).toEqual([
      [512, 768],
      [512, 768],
    ]);
    const kolors = await postJson(h.graphqlUrl, GENERATE, { input: { model: "Kwai-Kolors/Kolors", prompt: "x", batchSize: 3 } });
    expect(kolors.body.errors?.[0]?.message).toMatch(/between 1 and 2/);
  });

  it("picks up a changed model list without a restart", async () => {
    await writeFile(h.configFile!, `models:\n  - id: acme/Later-2\n    imageSizes: ["640x640"]\n`);
    const deadline = Date.now() + 10_000;
    let models = new Map<string, ModelRow>();
    while (Date.now() < deadline) {
      const { body } = await postJson<{ models: ModelRow[] }>(h.graphqlUrl, MODELS);
      models = new Map(body.data!.models.map((m) => [m.id, m]));
      if (models.get("acme/Later-2")?.source === "CONFIG") break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(models.get("acme/Later-2")).toMatchObject({ source: "CONFIG", imageSizes: ["640x640"] });
    // No longer configured: only SiliconFlow's list vouches for it, with conservative capabilities.
    expect(models.get(added.id)).toMatchObject({ source: "UPSTREAM", maxBatchSize: 1 });
    expect(models.get("Kwai-Kolors/Kolors")!.maxBatchSize).toBe(4);
    const { body } = await postJson(h.graphqlUrl, GENERATE, { input: { model: "acme/Later-2", prompt: "later" } });
    expect(body.errors).toBeUndefined();
  });
});

describe("availability from SiliconFlow's model list", () => {
  it("marks models the key cannot call, refuses them before spending, and shows unknown upstream models", async () => {
    const h = await startHarness({
      simulator: {
        models: [
          builtinModels.find((m) => m.id === "Qwen/Qwen-Image")!,
          { id: "vendor/Brand-New", sizes: ["1024x1024"], maxBatch: 1, maxImages: 0, minImages: 0, guidance: "none", defaultSize: "1024x1024" },
        ],
      },
    });
    try {
      // The start-up probe runs in the background; health waits for a fresh one.
      const health = await postJson<{ health: { status: string; models: Array<{ id: string; available: boolean }> } }>(h.graphqlUrl, HEALTH);
      const models = new Map(health.body.data!.health.models.map((m) => [m.id, m.available]));
      expect(models.get("Qwen/Qwen-Image")).toBe(true);
      expect(models.get("Kwai-Kolors/Kolors")).toBe(false);
      expect(models.get("vendor/Brand-New")).toBe(true);
      const before = h.simulator.received.length;
      const { body } = await postJson(h.graphqlUrl, GENERATE, { input: { model: "Kwai-Kolors/Kolors", prompt: "x" } });
      expect(body.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.model" });
      expect(body.errors?.[0]?.message).toMatch(/not available/);
      expect(h.simulator.received.length).toBe(before);
    } finally {
      await h.close();
    }
  });
});

describe("health", () => {
  it("is OK with SiliconFlow up, DOWN with it gone, while GET /health stays 200", async () => {
    const h = await startHarness({ config: { health: { probeCacheMs: 0 } } });
    try {
      const up = await postJson<{ health: { status: string; provider: string; version: string; uptimeSeconds: number; upstream: { reachable: boolean; latencyMs: number } } }>(
        h.graphqlUrl,
        HEALTH,
      );
      expect(up.body.data!.health).toMatchObject({ status: "OK", provider: "SILICONFLOW", upstream: { reachable: true } });
      expect(up.body.data!.health.version).toMatch(/^\d+\.\d+\.\d+/);
      expect(up.body.data!.health.upstream.latencyMs).toBeGreaterThanOrEqual(0);
      expect((await fetch(`${h.url}/ready`)).status).toBe(200);

      await h.simulator.close();
      const down = await postJson<{ health: { status: string; upstream: { reachable: boolean; error: string } } }>(h.graphqlUrl, HEALTH);
      expect(["DOWN", "DEGRADED"]).toContain(down.body.data!.health.status);
      expect(down.body.data!.health.upstream.reachable).toBe(false);
      const live = await fetch(`${h.url}/health`);
      expect(live.status).toBe(200);
      expect(await live.json()).toMatchObject({ status: "ok" });
    } finally {
      await h.close();
    }
  });

  it("reports DOWN when SiliconFlow refuses the key", async () => {
    const h = await startHarness({ config: { health: { probeCacheMs: 0 }, siliconflow: { apiKey: "sk-wrong-key-but-long-enough" } } });
    try {
      const { body } = await postJson<{ health: { status: string; upstream: { reachable: boolean; error: string } } }>(h.graphqlUrl, HEALTH);
      expect(body.data!.health.status).toBe("DOWN");
      expect(body.data!.health.upstream.reachable).toBe(true);
      expect(body.data!.health.upstream.error).toMatch(/check the key/i);
      expect(JSON.stringify(body)).not.toContain("sk-wrong-key-but-long-enough");
    } finally {
      await h.close();
    }
  });
});
