import { describe, expect, it, vi } from "vitest";
import { conservativeCapabilities, type ModelCapabilities } from "../src/models/model-capabilities.js";
import { BUILTIN_MODELS } from "../src/models/model-catalogue.js";
import { resolveModelEntry } from "../src/models/model-merge.js";
import { modelCapabilitiesOverrideSchema, parseModelEntry, type ModelCapabilitiesOverride } from "../src/models/model-overrides.js";
import { ModelRegistry, type ImageModelInfo } from "../src/models/model-registry.js";

const BUILTIN_IDS = [
  "Kwai-Kolors/Kolors",
  "Qwen/Qwen-Image",
  "Qwen/Qwen-Image-Edit",
  "Qwen/Qwen-Image-Edit-2509",
  "Tongyi-MAI/Z-Image-Turbo",
  "Tongyi-MAI/Z-Image",
  "baidu/ERNIE-Image-Turbo",
];

function builtIn(id: string): ModelCapabilities {
  const model = BUILTIN_MODELS.find((m) => m.id === id);
  if (model === undefined) throw new Error(`test setup: no built-in ${id}`);
  return model;
}

function ids(models: readonly ImageModelInfo[]): string[] {
  return models.map((m) => m.id);
}

function summary(registry: ModelRegistry): Array<[string, ImageModelInfo["source"], boolean]> {
  return registry.list().map((m) => [m.id, m.source, m.available]);
}

describe("BUILTIN_MODELS", () => {
  it("lists the documented models in order", () => {
    expect(BUILTIN_MODELS.map((m) => m.id)).toEqual(BUILTIN_IDS);
  });

  it("describes Kolors: optional image, five sizes, batches of up to 4, guidance_scale", () => {
    expect(builtIn("Kwai-Kolors/Kolors")).toEqual({
      id: "Kwai-Kolors/Kolors",
      displayName: "Kolors",
      kind: "TEXT_TO_IMAGE",
      minInputImages: 0,
      maxInputImages: 1,
      imageSizes: ["1024x1024", "960x1280", "768x1024", "720x1440", "720x1280"],
      defaultImageSize: "1024x1024",
      maxBatchSize: 4,
      guidance: "GUIDANCE_SCALE",
      guidanceRange: { min: 0, max: 20, default: 7.5 },
      steps: { min: 1, max: 100, default: 20 },
      negativePrompt: true,
      acceptsSeed: true,
    });
  });

  it("describes Qwen-Image: no inputs, seven sizes, cfg", () => {
    const model = builtIn("Qwen/Qwen-Image");
    expect(model.kind).toBe("TEXT_TO_IMAGE");
    expect([model.minInputImages, model.maxInputImages, model.maxBatchSize]).toEqual([0, 0, 1]);
    expect(model.imageSizes).toEqual(["1328x1328", "1664x928", "928x1664", "1472x1140", "1140x1472", "1584x1056", "1056x1584"]);
    expect(model.defaultImageSize).toBe("1328x1328");
    expect(model.guidance).toBe("CFG");
    expect(model.guidanceRange).toEqual({ min: 0.1, max: 20, default: 4 });
  });

  it("describes the edit models: no sizes, cfg, 1 and 1-3 images", () => {
    const edit = builtIn("Qwen/Qwen-Image-Edit");
    const edit2509 = builtIn("Qwen/Qwen-Image-Edit-2509");
    for (const model of [edit, edit2509]) {
      expect(model.kind).toBe("IMAGE_EDIT");
      expect(model.imageSizes).toEqual([]);
      expect(model.defaultImageSize).toBeNull();
      expect(model.maxBatchSize).toBe(1);
      expect(model.guidance).toBe("CFG");
    }
    expect([edit.minInputImages, edit.maxInputImages]).toEqual([1, 1]);
    expect([edit2509.minInputImages, edit2509.maxInputImages]).toEqual([1, 3]);
  });

  it("describes Z-Image and ERNIE: six sizes, no guidance, turbo step defaults", () => {
    const sizes = ["1024x1024", "1200x896", "1264x848", "1376x768", "896x1200", "768x1376"];
    for (const id of ["Tongyi-MAI/Z-Image-Turbo", "Tongyi-MAI/Z-Image", "baidu/ERNIE-Image-Turbo"]) {
      const model = builtIn(id);
      expect(model.imageSizes).toEqual(sizes);
      expect(model.guidance).toBe("NONE");
      expect(model.guidanceRange).toBeNull();
      expect([model.minInputImages, model.maxInputImages, model.maxBatchSize]).toEqual([0, 0, 1]);
    }
    expect(builtIn("Tongyi-MAI/Z-Image-Turbo").steps).toEqual({ min: 1, max: 100, default: 8 });
    expect(builtIn("baidu/ERNIE-Image-Turbo").steps).toEqual({ min: 1, max: 100, default: 8 });
    expect(builtIn("Tongyi-MAI/Z-Image").steps).toEqual({ min: 1, max: 100, default: 20 });
  });

  it("is coherent by its own rules and frozen", () => {
    for (const model of BUILTIN_MODELS) {
      expect(resolveModelEntry({ id: model.id }, model)).toEqual(model);
    }
    const kolors = builtIn("Kwai-Kolors/Kolors");
    expect(() => {
      kolors.imageSizes.push("1x1");
    }).toThrow(TypeError);
    expect(() => {
      (kolors.steps as { max: number }).max = 5;
    }).toThrow(TypeError);
  });
});

describe("conservativeCapabilities", () => {
  it("gives a new model the least it could need", () => {
    expect(conservativeCapabilities("acme/Painter")).toEqual({
      id: "acme/Painter",
      displayName: "acme/Painter",
      kind: "TEXT_TO_IMAGE",
      minInputImages: 0,
      maxInputImages: 0,
      imageSizes: [],
      defaultImageSize: null,
      maxBatchSize: 1,
      guidance: "NONE",
      guidanceRange: null,
      steps: { min: 1, max: 100, default: 20 },
      negativePrompt: true,
      acceptsSeed: true,
    });
  });

  it("gives an edit model exactly one image", () => {
    const model = conservativeCapabilities("acme/Editor", "IMAGE_EDIT");
    expect([model.kind, model.minInputImages, model.maxInputImages]).toEqual(["IMAGE_EDIT", 1, 1]);
  });
});

describe("modelCapabilitiesOverrideSchema", () => {
  it("accepts a partial entry with only an id", () => {
    expect(modelCapabilitiesOverrideSchema.parse({ id: "Kwai-Kolors/Kolors" })).toEqual({ id: "Kwai-Kolors/Kolors" });
  });

  it("accepts a complete entry", () => {
    const full = { ...builtIn("Qwen/Qwen-Image") };
    expect(modelCapabilitiesOverrideSchema.parse(full)).toEqual(full);
  });

  it("refuses a missing id, unknown keys and wrong types", () => {
    expect(modelCapabilitiesOverrideSchema.safeParse({ maxBatchSize: 2 }).success).toBe(false);
    expect(modelCapabilitiesOverrideSchema.safeParse({ id: "a", maxBatchsize: 2 }).success).toBe(false);
    expect(modelCapabilitiesOverrideSchema.safeParse({ id: "a", maxBatchSize: "2" }).success).toBe(false);
    expect(modelCapabilitiesOverrideSchema.safeParse({ id: "a", guidance: "cfg" }).success).toBe(false);
  });
});

describe("resolveModelEntry", () => {
  const kolors = builtIn("Kwai-Kolors/Kolors");

  it("overrides only the keys the entry names", () => {
    const resolved = resolveModelEntry({ id: kolors.id, maxBatchSize: 2, displayName: "Kolors (2 max)" }, kolors);
    expect(resolved).toEqual({ ...kolors, maxBatchSize: 2, displayName: "Kolors (2 max)" });
  });

  it("merges ranges key by key", () => {
    const resolved = resolveModelEntry({ id: kolors.id, steps: { max: 50 }, guidanceRange: { default: 5 } }, kolors);
    expect(resolved.steps).toEqual({ min: 1, max: 50, default: 20 });
    expect(resolved.guidanceRange).toEqual({ min: 0, max: 20, default: 5 });
  });

  it("takes the standard range when guidance changes, and none for NONE", () => {
    expect(resolveModelEntry({ id: kolors.id, guidance: "CFG" }, kolors).guidanceRange).toEqual({
      min: 0.1,
      max: 20,
      default: 4,
    });
    expect(resolveModelEntry({ id: kolors.id, guidance: "NONE" }, kolors).guidanceRange).toBeNull();
    expect(resolveModelEntry({ id: "a/b", guidance: "GUIDANCE_SCALE" }).guidanceRange).toEqual({
      min: 0,
      max: 20,
      default: 7.5,
    });
  });

  it("keeps the default size when still offered, else takes the first new size", () => {
    expect(resolveModelEntry({ id: kolors.id, imageSizes: ["720x1280", "1024x1024"] }, kolors).defaultImageSize).toBe(
      "1024x1024",
    );
    expect(resolveModelEntry({ id: kolors.id, imageSizes: ["720x1280", "768x1024"] }, kolors).defaultImageSize).toBe(
      "720x1280",
    );
    const noSizes = resolveModelEntry({ id: kolors.id, imageSizes: [] }, kolors);
    expect([noSizes.imageSizes, noSizes.defaultImageSize]).toEqual([[], null]);
  });

  it("builds a new model on conservative defaults", () => {
    const resolved = resolveModelEntry({ id: "acme/Painter", imageSizes: ["512x512", "1024x1024"], maxBatchSize: 2 });
    expect(resolved).toEqual({
      ...conservativeCapabilities("acme/Painter"),
      imageSizes: ["512x512", "1024x1024"],
      defaultImageSize: "512x512",
      maxBatchSize: 2,
    });
  });

  it("gives a new edit model one image unless told otherwise", () => {
    const resolved = resolveModelEntry({ id: "acme/Editor", kind: "IMAGE_EDIT", maxInputImages: 2 });
    expect([resolved.minInputImages, resolved.maxInputImages]).toEqual([1, 2]);
  });

  it("returns a frozen result and leaves its inputs alone", () => {
    const entry: ModelCapabilitiesOverride = { id: kolors.id, imageSizes: ["1024x1024"] };
    const resolved = resolveModelEntry(entry, kolors);
    expect(Object.isFrozen(resolved)).toBe(true);
    expect(Object.isFrozen(resolved.imageSizes)).toBe(true);
    expect(entry).toEqual({ id: kolors.id, imageSizes: ["1024x1024"] });
    expect(kolors.imageSizes).toHaveLength(5);
  });

  it.each<[string, ModelCapabilitiesOverride, string]>([
    ["min above max inputs", { id: "acme/X", minInputImages: 2, maxInputImages: 1 }, 'model "acme/X": minInputImages: 2 is more than maxInputImages 1'],
    ["more than three inputs", { id: "acme/X", maxInputImages: 4 }, 'model "acme/X": maxInputImages:'],
    ["an edit model without inputs", { id: "acme/X", kind: "IMAGE_EDIT", maxInputImages: 0, minInputImages: 0 }, 'model "acme/X": maxInputImages: must be at least 1 for an IMAGE_EDIT model'],
    ["a default size not offered", { id: "acme/X", imageSizes: ["512x512"], defaultImageSize: "1024x1024" }, 'model "acme/X": defaultImageSize: "1024x1024" is not among imageSizes (512x512)'],
    ["a default size with no sizes", { id: "acme/X", defaultImageSize: "1024x1024" }, 'model "acme/X": defaultImageSize: "1024x1024" given but the model takes no imageSize'],
    ["a malformed size", { id: "acme/X", imageSizes: ["1024*1024"] }, 'model "acme/X": imageSizes[0]: must look like "1024x1024"'],
    ["a repeated size", { id: "acme/X", imageSizes: ["1x1", "1x1"] }, 'model "acme/X": imageSizes: must not repeat a size'],
    ["batch 0", { id: "acme/X", maxBatchSize: 0 }, 'model "acme/X": maxBatchSize:'],
    ["steps min above max", { id: "acme/X", steps: { min: 50, max: 10 } }, 'model "acme/X": steps.min: 50 is more than steps.max 10'],
    ["steps default outside", { id: "acme/X", steps: { default: 200 } }, 'model "acme/X": steps.default: 200 is outside 1..100'],
    ["fractional steps", { id: "acme/X", steps: { max: 10.5 } }, 'model "acme/X": steps.max: must be a whole number'],
    ["steps below 1", { id: "acme/X", steps: { min: 0 } }, 'model "acme/X": steps.min: must be >= 1'],
    ["a range for NONE", { id: "acme/X", guidanceRange: { min: 1 } }, 'model "acme/X": guidanceRange: must be null when guidance is NONE'],
    ["a null range for CFG", { id: "acme/X", guidance: "CFG", guidanceRange: null }, 'model "acme/X": guidanceRange: must not be null when guidance is CFG'],
    ["guidance default outside", { id: "acme/X", guidance: "CFG", guidanceRange: { default: 30 } }, 'model "acme/X": guidanceRange.default: 30 is outside 0.1..20'],
    ["negative guidance", { id: "acme/X", guidance: "CFG", guidanceRange: { min: -1 } }, 'model "acme/X": guidanceRange.min: must be >= 0'],
  ])("refuses %s, naming the model and the key", (_name, entry, message) => {
    expect(() => resolveModelEntry(entry)).toThrow(message);
  });

  it("refuses an unknown key by name", () => {
    const entry: unknown = { id: "Kwai-Kolors/Kolors", maxBatchsize: 2 };
    expect(() => resolveModelEntry(entry, kolors)).toThrow('model "Kwai-Kolors/Kolors": maxBatchsize: unknown key');
  });

  it("refuses a wrong type by key", () => {
    const entry: unknown = { id: "Kwai-Kolors/Kolors", maxBatchSize: "2" };
    expect(() => resolveModelEntry(entry, kolors)).toThrow(/^model "Kwai-Kolors\/Kolors": maxBatchSize: /);
  });

  it("refuses an entry without an id", () => {
    expect(() => resolveModelEntry({ maxBatchSize: 2 })).toThrow(/^model entry: id: /);
    expect(() => resolveModelEntry(null)).toThrow(/^model entry: /);
    expect(() => resolveModelEntry({ id: "  " })).toThrow("model entry: id: must not be empty");
  });

  it("parseModelEntry returns the checked entry with a trimmed id", () => {
    expect(parseModelEntry({ id: " acme/X ", maxBatchSize: 2 })).toEqual({ id: "acme/X", maxBatchSize: 2 });
    expect(() => parseModelEntry({ id: "acme/X", steps: { max: "9" } })).toThrow(/^model "acme\/X": steps\.max: /);
  });

  it("refuses a base with another id", () => {
    expect(() => resolveModelEntry({ id: "acme/X" }, kolors)).toThrow(
      'model "acme/X": id: cannot override model "Kwai-Kolors/Kolors" with a different id',
    );
  });

  it("checks the merged result, not just the entry", () => {
    // Valid alone, but below the built-in's minimum of 1 input image.
    expect(() => resolveModelEntry({ id: "Qwen/Qwen-Image-Edit", maxInputImages: 0 }, builtIn("Qwen/Qwen-Image-Edit"))).toThrow(
      'model "Qwen/Qwen-Image-Edit": minInputImages: 1 is more than maxInputImages 0',
    );
  });
});

describe("ModelRegistry: catalogue and configuration", () => {
  it("starts with every built-in, available, in catalogue order", () => {
    const registry = new ModelRegistry();
    expect(summary(registry)).toEqual(BUILTIN_IDS.map((id) => [id, "BUILTIN", true]));
    expect(registry.get("Qwen/Qwen-Image")).toEqual({ ...builtIn("Qwen/Qwen-Image"), available: true, source: "BUILTIN" });
    expect(registry.get("nope/Nothing")).toBeUndefined();
    expect(registry.version).toBe(0);
  });

  it("overrides a built-in in place and appends added models in configuration order", () => {
    const registry = new ModelRegistry({
      configured: [
        { id: "acme/Zeta", maxBatchSize: 2 },
        { id: "Kwai-Kolors/Kolors", maxBatchSize: 2 },
        { id: "acme/Alpha", kind: "IMAGE_EDIT" },
      ],
    });
    expect(ids(registry.list())).toEqual([...BUILTIN_IDS, "acme/Zeta", "acme/Alpha"]);
    expect(registry.get("Kwai-Kolors/Kolors")).toMatchObject({ maxBatchSize: 2, source: "BUILTIN", guidance: "GUIDANCE_SCALE" });
    expect(registry.get("acme/Zeta")).toMatchObject({ maxBatchSize: 2, source: "CONFIG", available: true, kind: "TEXT_TO_IMAGE" });
    expect(registry.get("acme/Alpha")).toMatchObject({ kind: "IMAGE_EDIT", minInputImages: 1, source: "CONFIG" });
  });

  it("accepts a custom built-in list", () => {
    const registry = new ModelRegistry({ builtIn: [builtIn("Qwen/Qwen-Image")] });
    expect(ids(registry.list())).toEqual(["Qwen/Qwen-Image"]);
  });

  it("refuses an incoherent or duplicated built-in list", () => {
    const bad: ModelCapabilities = { ...builtIn("Qwen/Qwen-Image"), defaultImageSize: "1x1" };
    expect(() => new ModelRegistry({ builtIn: [bad] })).toThrow('model "Qwen/Qwen-Image": defaultImageSize');
    const twice = builtIn("Qwen/Qwen-Image");
    expect(() => new ModelRegistry({ builtIn: [twice, twice] })).toThrow("listed twice");
  });

  it("refuses a bad configured entry at construction", () => {
    expect(() => new ModelRegistry({ configured: [{ id: "Kwai-Kolors/Kolors", maxBatchSize: 0 }] })).toThrow(
      'model "Kwai-Kolors/Kolors": maxBatchSize',
    );
  });

  it("refuses the same id configured twice", () => {
    expect(() => new ModelRegistry({ configured: [{ id: "acme/X" }, { id: "acme/X", maxBatchSize: 2 }] })).toThrow(
      'model "acme/X": id: configured more than once',
    );
  });

  it("replaces the configuration as a whole", () => {
    const registry = new ModelRegistry({ configured: [{ id: "Kwai-Kolors/Kolors", maxBatchSize: 2 }, { id: "acme/X" }] });
    registry.setConfigured([{ id: "acme/Y" }]);
    expect(registry.get("Kwai-Kolors/Kolors")?.maxBatchSize).toBe(4);
    expect(registry.get("acme/X")).toBeUndefined();
    expect(ids(registry.list())).toEqual([...BUILTIN_IDS, "acme/Y"]);
  });

  it("keeps the current state when a new configuration has a bad entry", () => {
    const registry = new ModelRegistry({ configured: [{ id: "Kwai-Kolors/Kolors", maxBatchSize: 2 }] });
    const before = registry.list();
    const versionBefore = registry.version;
    const listener = vi.fn();
    registry.onChange(listener);
    expect(() =>
      registry.setConfigured([
        { id: "Kwai-Kolors/Kolors", maxBatchSize: 3 },
        { id: "acme/New" },
        { id: "Qwen/Qwen-Image", imageSizes: ["1x1"], defaultImageSize: "2x2" },
      ]),
    ).toThrow('model "Qwen/Qwen-Image": defaultImageSize');
    expect(registry.list()).toEqual(before);
    expect(registry.get("Kwai-Kolors/Kolors")?.maxBatchSize).toBe(2);
    expect(registry.get("acme/New")).toBeUndefined();
    expect(registry.version).toBe(versionBefore);
    expect(listener).not.toHaveBeenCalled();
    // A later, unrelated change must still see the old configuration, not a half-applied one.
    registry.applyUpstreamList(["Kwai-Kolors/Kolors"]);
    expect(registry.get("Kwai-Kolors/Kolors")?.maxBatchSize).toBe(2);
    expect(registry.get("acme/New")).toBeUndefined();
  });

  it("takes entries as parsed from YAML or JSON, matching a built-in by trimmed id", () => {
    const fromFile: Record<string, unknown>[] = JSON.parse(
      '[{"id":" Kwai-Kolors/Kolors ","maxBatchSize":2},{"id":"acme/X","imageSizes":["512x512"]}]',
    );
    const registry = new ModelRegistry({ configured: fromFile });
    expect(ids(registry.list())).toEqual([...BUILTIN_IDS, "acme/X"]);
    // The rest comes from the built-in, not from the conservative defaults of a new model.
    expect(registry.get("Kwai-Kolors/Kolors")).toEqual({
      ...builtIn("Kwai-Kolors/Kolors"),
      maxBatchSize: 2,
      available: true,
      source: "BUILTIN",
    });
    expect(registry.get("acme/X")?.defaultImageSize).toBe("512x512");
  });

  it("hands out frozen snapshots that later changes do not touch", () => {
    const registry = new ModelRegistry();
    const first = registry.list();
    const kolors = registry.get("Kwai-Kolors/Kolors");
    expect(() => {
      (kolors as ImageModelInfo).maxBatchSize = 99;
    }).toThrow(TypeError);
    first.pop();
    expect(registry.list()).toHaveLength(BUILTIN_IDS.length);
    registry.setConfigured([{ id: "Kwai-Kolors/Kolors", maxBatchSize: 1 }]);
    expect(kolors?.maxBatchSize).toBe(4);
    expect(registry.get("Kwai-Kolors/Kolors")?.maxBatchSize).toBe(1);
  });
});

describe("ModelRegistry: upstream list", () => {
  it("marks known models missing from the list unavailable", () => {
    const registry = new ModelRegistry({ configured: [{ id: "acme/X" }] });
    registry.applyUpstreamList(["Kwai-Kolors/Kolors", "Qwen/Qwen-Image-Edit"]);
    const unavailable = registry
      .list()
      .filter((m) => !m.available)
      .map((m) => m.id);
    expect(unavailable).toEqual([
      "Qwen/Qwen-Image",
      "Qwen/Qwen-Image-Edit-2509",
      "Tongyi-MAI/Z-Image-Turbo",
      "Tongyi-MAI/Z-Image",
      "baidu/ERNIE-Image-Turbo",
      "acme/X",
    ]);
    expect(registry.get("Kwai-Kolors/Kolors")?.available).toBe(true);
  });

  it("adds unknown ids with conservative capabilities, guessing edit models by name", () => {
    const registry = new ModelRegistry();
    registry.applyUpstreamList(["vendor/New-Painter", "Kwai-Kolors/Kolors", "vendor/Photo-EDIT-v2"]);
    expect(registry.get("vendor/New-Painter")).toEqual({
      ...conservativeCapabilities("vendor/New-Painter"),
      available: true,
      source: "UPSTREAM",
    });
    expect(registry.get("vendor/Photo-EDIT-v2")).toMatchObject({
      kind: "IMAGE_EDIT",
      minInputImages: 1,
      maxInputImages: 1,
      source: "UPSTREAM",
      available: true,
    });
    expect(ids(registry.list()).slice(BUILTIN_IDS.length)).toEqual(["vendor/New-Painter", "vendor/Photo-EDIT-v2"]);
  });

  it("keeps the order stable when upstream reorders, and drops discoveries no longer listed", () => {
    const registry = new ModelRegistry({ configured: [{ id: "acme/C" }] });
    registry.applyUpstreamList(["u/one", "u/two", "acme/C"]);
    registry.applyUpstreamList(["u/three", "u/two", "u/one", "acme/C"]);
    expect(ids(registry.list()).slice(BUILTIN_IDS.length)).toEqual(["acme/C", "u/one", "u/two", "u/three"]);
    registry.applyUpstreamList(["u/three", "acme/C"]);
    expect(ids(registry.list()).slice(BUILTIN_IDS.length)).toEqual(["acme/C", "u/three"]);
  });

  it("lets configuration describe a discovered model, and reveals it again when removed", () => {
    const registry = new ModelRegistry();
    registry.applyUpstreamList(["u/edit-model"]);
    registry.setConfigured([{ id: "u/edit-model", kind: "IMAGE_EDIT", maxInputImages: 3 }]);
    expect(registry.get("u/edit-model")).toMatchObject({ source: "CONFIG", maxInputImages: 3, available: true });
    expect(registry.list().filter((m) => m.id === "u/edit-model")).toHaveLength(1);
    registry.setConfigured([]);
    expect(registry.get("u/edit-model")).toMatchObject({ source: "UPSTREAM", maxInputImages: 1, available: true });
  });

  it("makes a model available again when it comes back", () => {
    const registry = new ModelRegistry();
    registry.applyUpstreamList([]);
    expect(registry.list().every((m) => !m.available)).toBe(true);
    registry.applyUpstreamList(BUILTIN_IDS);
    expect(registry.list().every((m) => m.available)).toBe(true);
  });

  it("refuses a list that is not an array of strings, changing nothing", () => {
    const registry = new ModelRegistry();
    expect(() => registry.applyUpstreamList(["a", 1] as unknown as string[])).toThrow(TypeError);
    expect(registry.list().every((m) => m.available)).toBe(true);
  });
});

describe("ModelRegistry: change notification", () => {
  it("bumps the version and notifies only when the list really changes", () => {
    const registry = new ModelRegistry();
    const listener = vi.fn();
    const unsubscribe = registry.onChange(listener);
    registry.applyUpstreamList(BUILTIN_IDS);
    expect(registry.version).toBe(0);
    registry.applyUpstreamList(["Kwai-Kolors/Kolors"]);
    expect(registry.version).toBe(1);
    registry.applyUpstreamList(["Kwai-Kolors/Kolors"]);
    registry.setConfigured([]);
    expect(registry.version).toBe(1);
    registry.setConfigured([{ id: "Kwai-Kolors/Kolors", displayName: "K" }]);
    expect(registry.version).toBe(2);
    expect(listener.mock.calls).toEqual([[1], [2]]);
    unsubscribe();
    registry.setConfigured([]);
    expect(registry.version).toBe(3);
    expect(listener).toHaveBeenCalledTimes(2);
  });

  it("isolates a throwing listener", () => {
    const onListenerError = vi.fn();
    const registry = new ModelRegistry({ onListenerError });
    const boom = new Error("listener bug");
    const second = vi.fn();
    registry.onChange(() => {
      throw boom;
    });
    registry.onChange(second);
    expect(() => registry.setConfigured([{ id: "acme/X" }])).not.toThrow();
    expect(onListenerError).toHaveBeenCalledWith(boom);
    expect(second).toHaveBeenCalledWith(1);
    expect(registry.get("acme/X")).toBeDefined();
  });
});
