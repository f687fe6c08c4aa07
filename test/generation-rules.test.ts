import { describe, expect, it } from "vitest";
import { ErrorCode, GatewayError } from "../src/errors.js";
import {
  MAX_SEED,
  upstreamParameters,
  validateGeneration,
  type GenerationParams,
} from "../src/models/generation-rules.js";
import type { ModelCapabilities } from "../src/models/model-capabilities.js";
import { BUILTIN_MODELS } from "../src/models/model-catalogue.js";
import type { ImageModelInfo } from "../src/models/model-registry.js";

const LIMITS = { maxPromptLength: 4000 };

function info(id: string, overrides: Partial<ImageModelInfo> = {}): ImageModelInfo {
  const base = BUILTIN_MODELS.find((model) => model.id === id);
  if (base === undefined) throw new Error(`test setup: no built-in ${id}`);
  return { ...base, available: true, source: "BUILTIN", ...overrides };
}

const KOLORS = info("Kwai-Kolors/Kolors");
const QWEN = info("Qwen/Qwen-Image");
const EDIT = info("Qwen/Qwen-Image-Edit");
const EDIT_2509 = info("Qwen/Qwen-Image-Edit-2509");
const Z_TURBO = info("Tongyi-MAI/Z-Image-Turbo");
const Z_IMAGE = info("Tongyi-MAI/Z-Image");
const ERNIE = info("baidu/ERNIE-Image-Turbo");

function params(model: ModelCapabilities, extra: Partial<GenerationParams> = {}): GenerationParams {
  return { model: model.id, prompt: "a red fox in snow", ...extra };
}

/** Runs the validation and returns the thrown GatewayError, failing the test if none or another kind. */
function refusal(run: () => void): GatewayError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(GatewayError);
    const gatewayError = error as GatewayError;
    expect(gatewayError.code).toBe(ErrorCode.BAD_USER_INPUT);
    expect(gatewayError.httpStatus).toBe(400);
    return gatewayError;
  }
  throw new Error("expected validateGeneration to refuse the request, but it accepted it");
}

function expectRefused(
  p: GenerationParams,
  imageCount: number,
  model: ImageModelInfo | undefined,
  field: string,
  message: string,
  available?: readonly string[],
): void {
  const error = refusal(() => validateGeneration(p, imageCount, model, LIMITS, available));
  expect({ field: error.field, message: error.message }).toEqual({ field, message });
}

function expectAccepted(p: GenerationParams, imageCount: number, model: ImageModelInfo): void {
  expect(() => validateGeneration(p, imageCount, model, LIMITS)).not.toThrow();
}

describe("validateGeneration: model", () => {
  it("refuses an unknown model, listing the available ones", () => {
    expectRefused(
      { model: "x", prompt: "p" },
      0,
      undefined,
      "input.model",
      'unknown model "x"; available models: Kwai-Kolors/Kolors, Qwen/Qwen-Image',
      ["Kwai-Kolors/Kolors", "Qwen/Qwen-Image"],
    );
  });

  it("says 'none' when no model is available, and omits the list when it was not given", () => {
    expectRefused({ model: "x", prompt: "p" }, 0, undefined, "input.model", 'unknown model "x"; available models: none', []);
    expectRefused({ model: "x", prompt: "p" }, 0, undefined, "input.model", 'unknown model "x"');
  });

  it("refuses a model the key may not call", () => {
    const unavailable = info("Qwen/Qwen-Image", { available: false });
    expectRefused(
      params(unavailable),
      0,
      unavailable,
      "input.model",
      'model "Qwen/Qwen-Image" is not available with the configured API key',
    );
  });

  it("checks the model before anything else", () => {
    expectRefused({ model: "x", prompt: "", batchSize: 99 }, 9, undefined, "input.model", 'unknown model "x"');
  });
});

describe("validateGeneration: prompt", () => {
  it("refuses an empty prompt", () => {
    expectRefused(params(KOLORS, { prompt: "" }), 0, KOLORS, "input.prompt", "prompt must not be empty");
  });

  it.each([" ", "\t\n ", "\u3000\u3000"])("refuses a whitespace-only prompt %j", (prompt) => {
    expectRefused(params(KOLORS, { prompt }), 0, KOLORS, "input.prompt", "prompt must not be only whitespace");
  });

  it("accepts exactly maxPromptLength characters and refuses one more", () => {
    expectAccepted(params(KOLORS, { prompt: "a".repeat(4000) }), 0, KOLORS);
    expectRefused(
      params(KOLORS, { prompt: "a".repeat(4001) }),
      0,
      KOLORS,
      "input.prompt",
      "prompt is longer than 4000 characters",
    );
  });

  it("counts code points, not UTF-16 units", () => {
    // Each emoji is one code point but two UTF-16 units: 4000 of them are 8000 units long.
    expectAccepted(params(KOLORS, { prompt: "🦊".repeat(4000) }), 0, KOLORS);
    expectRefused(
      params(KOLORS, { prompt: "🦊".repeat(4001) }),
      0,
      KOLORS,
      "input.prompt",
      "prompt is longer than 4000 characters",
    );
  });

  it("uses the configured limit", () => {
    const error = refusal(() =>
      validateGeneration(params(KOLORS, { prompt: "abcdef" }), 0, KOLORS, { maxPromptLength: 5 }),
    );
    expect(error.message).toBe("prompt is longer than 5 characters");
  });
});

describe("validateGeneration: negativePrompt", () => {
  it("accepts a negative prompt for a model that takes one", () => {
    expectAccepted(params(KOLORS, { negativePrompt: "blurry" }), 0, KOLORS);
  });

  it("refuses a negative prompt for a model that takes none", () => {
    const model = info("Qwen/Qwen-Image", { negativePrompt: false });
    expectRefused(
      params(model, { negativePrompt: "blurry" }),
      0,
      model,
      "input.negativePrompt",
      "Qwen/Qwen-Image takes no negativePrompt",
    );
  });

  it("treats an empty or blank negative prompt as not given", () => {
    const model = info("Qwen/Qwen-Image", { negativePrompt: false });
    expectAccepted(params(model, { negativePrompt: "" }), 0, model);
    expectAccepted(params(model, { negativePrompt: "   " }), 0, model);
    expectAccepted(params(model, { negativePrompt: null }), 0, model);
  });

  it("applies the prompt length limit to the negative prompt", () => {
    expectAccepted(params(KOLORS, { negativePrompt: "n".repeat(4000) }), 0, KOLORS);
    expectRefused(
      params(KOLORS, { negativePrompt: "n".repeat(4001) }),
      0,
      KOLORS,
      "input.negativePrompt",
      "negativePrompt is longer than 4000 characters",
    );
  });
});

describe("validateGeneration: imageSize", () => {
  it("accepts every size the model offers", () => {
    for (const imageSize of KOLORS.imageSizes) expectAccepted(params(KOLORS, { imageSize }), 0, KOLORS);
    for (const imageSize of QWEN.imageSizes) expectAccepted(params(QWEN, { imageSize }), 0, QWEN);
  });

  it("refuses a size the model does not offer, listing all the offered ones", () => {
    expectRefused(
      params(KOLORS, { imageSize: "1328x1328" }),
      0,
      KOLORS,
      "input.imageSize",
      "imageSize must be one of 1024x1024, 960x1280, 768x1024, 720x1440, 720x1280 for Kwai-Kolors/Kolors",
    );
    expectRefused(
      params(KOLORS, { imageSize: "" }),
      0,
      KOLORS,
      "input.imageSize",
      "imageSize must be one of 1024x1024, 960x1280, 768x1024, 720x1440, 720x1280 for Kwai-Kolors/Kolors",
    );
  });

  it("refuses any size for a model that takes none", () => {
    expectRefused(
      params(EDIT, { imageSize: "1024x1024" }),
      1,
      EDIT,
      "input.imageSize",
      "Qwen/Qwen-Image-Edit takes no imageSize",
    );
    expectRefused(
      params(EDIT_2509, { imageSize: "1024x1024" }),
      1,
      EDIT_2509,
      "input.imageSize",
      "Qwen/Qwen-Image-Edit-2509 takes no imageSize",
    );
  });

  it("accepts no size for a model that takes none", () => {
    expectAccepted(params(EDIT, { imageSize: null }), 1, EDIT);
  });
});

describe("validateGeneration: batchSize", () => {
  it.each([1, 2, 3, 4])("accepts batchSize %i for Kolors", (batchSize) => {
    expectAccepted(params(KOLORS, { batchSize }), 0, KOLORS);
  });

  it.each([0, 5, -1])("refuses batchSize %i for Kolors", (batchSize) => {
    expectRefused(
      params(KOLORS, { batchSize }),
      0,
      KOLORS,
      "input.batchSize",
      "batchSize must be between 1 and 4 for Kwai-Kolors/Kolors",
    );
  });

  it("accepts batchSize 1 for a model without batches, and nothing else", () => {
    expectAccepted(params(QWEN, { batchSize: 1 }), 0, QWEN);
    expectRefused(params(QWEN, { batchSize: 2 }), 0, QWEN, "input.batchSize", "batchSize must be 1 for Qwen/Qwen-Image");
    expectRefused(params(QWEN, { batchSize: 0 }), 0, QWEN, "input.batchSize", "batchSize must be 1 for Qwen/Qwen-Image");
  });

  it("refuses a fractional or non-finite batchSize", () => {
    expectRefused(params(KOLORS, { batchSize: 2.5 }), 0, KOLORS, "input.batchSize", "batchSize must be a whole number, got 2.5");
    expectRefused(params(KOLORS, { batchSize: Number.NaN }), 0, KOLORS, "input.batchSize", "batchSize must be a finite number");
    expectRefused(params(QWEN, { batchSize: Infinity }), 0, QWEN, "input.batchSize", "batchSize must be a finite number");
  });
});

describe("validateGeneration: numInferenceSteps", () => {
  it.each([1, 20, 100])("accepts %i steps", (numInferenceSteps) => {
    expectAccepted(params(KOLORS, { numInferenceSteps }), 0, KOLORS);
  });

  it.each([0, 101])("refuses %i steps", (numInferenceSteps) => {
    expectRefused(
      params(KOLORS, { numInferenceSteps }),
      0,
      KOLORS,
      "input.numInferenceSteps",
      "numInferenceSteps must be between 1 and 100 for Kwai-Kolors/Kolors",
    );
  });

  it("uses the model's own range", () => {
    const narrow = info("Tongyi-MAI/Z-Image-Turbo", { steps: { min: 1, max: 16, default: 8 } });
    expectAccepted(params(narrow, { numInferenceSteps: 16 }), 0, narrow);
    expectRefused(
      params(narrow, { numInferenceSteps: 17 }),
      0,
      narrow,
      "input.numInferenceSteps",
      "numInferenceSteps must be between 1 and 16 for Tongyi-MAI/Z-Image-Turbo",
    );
  });

  it("refuses fractional and non-finite steps", () => {
    expectRefused(
      params(KOLORS, { numInferenceSteps: 20.5 }),
      0,
      KOLORS,
      "input.numInferenceSteps",
      "numInferenceSteps must be a whole number, got 20.5",
    );
    expectRefused(
      params(KOLORS, { numInferenceSteps: -Infinity }),
      0,
      KOLORS,
      "input.numInferenceSteps",
      "numInferenceSteps must be a finite number",
    );
  });
});

describe("validateGeneration: guidanceScale and cfg", () => {
  it("accepts guidanceScale 0, 7.5 and 20 for Kolors, refuses -0.01 and 20.01", () => {
    for (const guidanceScale of [0, 7.5, 20]) expectAccepted(params(KOLORS, { guidanceScale }), 0, KOLORS);
    for (const guidanceScale of [-0.01, 20.01]) {
      expectRefused(
        params(KOLORS, { guidanceScale }),
        0,
        KOLORS,
        "input.guidanceScale",
        "guidanceScale must be between 0 and 20 for Kwai-Kolors/Kolors",
      );
    }
  });

  it("accepts cfg 0.1 and 20 for Qwen, refuses 0.09 and 20.5", () => {
    expectAccepted(params(QWEN, { cfg: 0.1 }), 0, QWEN);
    expectAccepted(params(QWEN, { cfg: 20 }), 0, QWEN);
    for (const cfg of [0.09, 20.5, 0]) {
      expectRefused(params(QWEN, { cfg }), 0, QWEN, "input.cfg", "cfg must be between 0.1 and 20 for Qwen/Qwen-Image");
    }
  });

  it("refuses guidanceScale for a cfg model, naming cfg", () => {
    expectRefused(
      params(QWEN, { guidanceScale: 4 }),
      0,
      QWEN,
      "input.guidanceScale",
      "Qwen/Qwen-Image takes cfg, not guidanceScale",
    );
    expectRefused(
      params(EDIT, { guidanceScale: 4 }),
      1,
      EDIT,
      "input.guidanceScale",
      "Qwen/Qwen-Image-Edit takes cfg, not guidanceScale",
    );
  });

  it("refuses cfg for a guidance_scale model, naming guidanceScale", () => {
    expectRefused(params(KOLORS, { cfg: 4 }), 0, KOLORS, "input.cfg", "Kwai-Kolors/Kolors takes guidanceScale, not cfg");
  });

  it("refuses either for a model without guidance", () => {
    expectRefused(
      params(Z_TURBO, { guidanceScale: 1 }),
      0,
      Z_TURBO,
      "input.guidanceScale",
      "Tongyi-MAI/Z-Image-Turbo takes no guidanceScale",
    );
    expectRefused(params(ERNIE, { cfg: 1 }), 0, ERNIE, "input.cfg", "baidu/ERNIE-Image-Turbo takes no cfg");
  });

  it("refuses non-finite guidance values", () => {
    expectRefused(
      params(KOLORS, { guidanceScale: Number.NaN }),
      0,
      KOLORS,
      "input.guidanceScale",
      "guidanceScale must be a finite number",
    );
    expectRefused(params(QWEN, { cfg: Infinity }), 0, QWEN, "input.cfg", "cfg must be a finite number");
  });

  it("accepts fractional guidance", () => {
    expectAccepted(params(KOLORS, { guidanceScale: 3.25 }), 0, KOLORS);
    expectAccepted(params(QWEN, { cfg: 2.5 }), 0, QWEN);
  });
});

describe("validateGeneration: seed", () => {
  it("accepts 0 and the maximum 9999999999, refuses one past either end", () => {
    expect(MAX_SEED).toBe(9_999_999_999);
    expectAccepted(params(KOLORS, { seed: 0 }), 0, KOLORS);
    expectAccepted(params(KOLORS, { seed: 9_999_999_999 }), 0, KOLORS);
    for (const seed of [-1, 10_000_000_000]) {
      expectRefused(params(KOLORS, { seed }), 0, KOLORS, "input.seed", "seed must be between 0 and 9999999999");
    }
  });

  it("refuses fractional and non-finite seeds", () => {
    expectRefused(params(KOLORS, { seed: 1.5 }), 0, KOLORS, "input.seed", "seed must be a whole number, got 1.5");
    expectRefused(params(KOLORS, { seed: Number.NaN }), 0, KOLORS, "input.seed", "seed must be a finite number");
  });

  it("refuses a seed for a model configured not to take one", () => {
    const model = info("Qwen/Qwen-Image", { acceptsSeed: false });
    expectRefused(params(model, { seed: 1 }), 0, model, "input.seed", "Qwen/Qwen-Image takes no seed");
  });
});

describe("validateGeneration: images", () => {
  it("needs an image for the edit model", () => {
    expectRefused(params(EDIT), 0, EDIT, "input.images", "Qwen/Qwen-Image-Edit needs at least 1 image");
    expectAccepted(params(EDIT), 1, EDIT);
    expectRefused(params(EDIT), 2, EDIT, "input.images", "Qwen/Qwen-Image-Edit takes at most 1 image, got 2");
  });

  it("takes 1 to 3 images for Qwen-Image-Edit-2509", () => {
    expectRefused(params(EDIT_2509), 0, EDIT_2509, "input.images", "Qwen/Qwen-Image-Edit-2509 needs at least 1 image");
    for (const count of [1, 2, 3]) expectAccepted(params(EDIT_2509), count, EDIT_2509);
    expectRefused(
      params(EDIT_2509),
      4,
      EDIT_2509,
      "input.images",
      "Qwen/Qwen-Image-Edit-2509 takes at most 3 images, got 4",
    );
  });

  it("takes 0 or 1 image for Kolors", () => {
    expectAccepted(params(KOLORS), 0, KOLORS);
    expectAccepted(params(KOLORS), 1, KOLORS);
    expectRefused(params(KOLORS), 2, KOLORS, "input.images", "Kwai-Kolors/Kolors takes at most 1 image, got 2");
  });

  it("refuses images for a text-only model", () => {
    expectRefused(params(QWEN), 1, QWEN, "input.images", "Qwen/Qwen-Image takes no input images, got 1");
    expectRefused(params(Z_IMAGE), 2, Z_IMAGE, "input.images", "Tongyi-MAI/Z-Image takes no input images, got 2");
  });

  it("pluralises a minimum above one", () => {
    const model = info("Qwen/Qwen-Image-Edit-2509", { minInputImages: 2 });
    expectRefused(params(model), 1, model, "input.images", "Qwen/Qwen-Image-Edit-2509 needs at least 2 images");
  });

  it("treats a bad image count as a programming error, not bad input", () => {
    expect(() => validateGeneration(params(KOLORS), -1, KOLORS, LIMITS)).toThrow(TypeError);
    expect(() => validateGeneration(params(KOLORS), 0.5, KOLORS, LIMITS)).toThrow(TypeError);
  });
});

describe("validateGeneration: order and a full valid request", () => {
  it("reports the first problem in field order", () => {
    const p = params(KOLORS, { imageSize: "1x1", batchSize: 9, seed: -1, cfg: 1 });
    expectRefused(
      p,
      5,
      KOLORS,
      "input.imageSize",
      "imageSize must be one of 1024x1024, 960x1280, 768x1024, 720x1440, 720x1280 for Kwai-Kolors/Kolors",
    );
    expectRefused({ ...p, imageSize: null }, 5, KOLORS, "input.batchSize", "batchSize must be between 1 and 4 for Kwai-Kolors/Kolors");
    expectRefused({ ...p, imageSize: null, batchSize: 2 }, 5, KOLORS, "input.cfg", "Kwai-Kolors/Kolors takes guidanceScale, not cfg");
    expectRefused({ ...p, imageSize: null, batchSize: 2, cfg: null }, 5, KOLORS, "input.seed", "seed must be between 0 and 9999999999");
    expectRefused(
      { ...p, imageSize: null, batchSize: 2, cfg: null, seed: 3 },
      5,
      KOLORS,
      "input.images",
      "Kwai-Kolors/Kolors takes at most 1 image, got 5",
    );
  });

  it("accepts every parameter a model takes, all at once", () => {
    expectAccepted(
      params(KOLORS, {
        negativePrompt: "blurry",
        imageSize: "960x1280",
        batchSize: 4,
        seed: 42,
        numInferenceSteps: 30,
        guidanceScale: 7.5,
      }),
      1,
      KOLORS,
    );
    expectAccepted(params(EDIT_2509, { negativePrompt: "x", seed: 1, numInferenceSteps: 50, cfg: 4 }), 3, EDIT_2509);
  });

  it("narrows the model to defined once validation passes", () => {
    const found: ImageModelInfo | undefined = [KOLORS].find((m) => m.id === "Kwai-Kolors/Kolors");
    validateGeneration(params(KOLORS), 0, found, LIMITS);
    // Compiles only because validateGeneration asserts the model exists (tsc checks the tests).
    expect(upstreamParameters(params(KOLORS), found).model).toBe("Kwai-Kolors/Kolors");
  });

  it("treats null and undefined optional fields as absent", () => {
    expectAccepted(
      params(EDIT, {
        negativePrompt: null,
        imageSize: null,
        batchSize: null,
        seed: null,
        numInferenceSteps: null,
        guidanceScale: null,
        cfg: null,
      }),
      1,
      EDIT,
    );
  });
});

describe("upstreamParameters", () => {
  const everything: Omit<GenerationParams, "model"> = {
    prompt: "a red fox",
    negativePrompt: "blurry",
    imageSize: "960x1280",
    batchSize: 3,
    seed: 9_999_999_999,
    numInferenceSteps: 30,
    guidanceScale: 6,
    cfg: 5,
  };

  it("gives Kolors guidance_scale and batch_size, never cfg", () => {
    expect(upstreamParameters({ model: KOLORS.id, ...everything }, KOLORS)).toEqual({
      model: "Kwai-Kolors/Kolors",
      prompt: "a red fox",
      negative_prompt: "blurry",
      image_size: "960x1280",
      batch_size: 3,
      seed: 9_999_999_999,
      num_inference_steps: 30,
      guidance_scale: 6,
    });
  });

  it("gives Qwen-Image cfg, never guidance_scale or batch_size, and its default size", () => {
    expect(upstreamParameters({ model: QWEN.id, ...everything, imageSize: null }, QWEN)).toEqual({
      model: "Qwen/Qwen-Image",
      prompt: "a red fox",
      negative_prompt: "blurry",
      image_size: "1328x1328",
      seed: 9_999_999_999,
      num_inference_steps: 30,
      cfg: 5,
    });
  });

  it("gives the edit models no image_size and no batch_size", () => {
    for (const model of [EDIT, EDIT_2509]) {
      const body = upstreamParameters({ model: model.id, ...everything }, model);
      expect(body).toEqual({
        model: model.id,
        prompt: "a red fox",
        negative_prompt: "blurry",
        seed: 9_999_999_999,
        num_inference_steps: 30,
        cfg: 5,
      });
    }
  });

  it("gives the guidance-less models neither guidance_scale nor cfg", () => {
    for (const model of [Z_TURBO, Z_IMAGE, ERNIE]) {
      const body = upstreamParameters({ model: model.id, ...everything, imageSize: "1376x768" }, model);
      expect(body).toEqual({
        model: model.id,
        prompt: "a red fox",
        negative_prompt: "blurry",
        image_size: "1376x768",
        seed: 9_999_999_999,
        num_inference_steps: 30,
      });
    }
  });

  it("sends only model, prompt and the default size when nothing else is given", () => {
    expect(upstreamParameters({ model: KOLORS.id, prompt: "p" }, KOLORS)).toEqual({
      model: "Kwai-Kolors/Kolors",
      prompt: "p",
      image_size: "1024x1024",
    });
    expect(upstreamParameters({ model: EDIT.id, prompt: "p" }, EDIT)).toEqual({ model: EDIT.id, prompt: "p" });
  });

  it("leaves out a blank negative prompt and one the model does not take", () => {
    expect(upstreamParameters({ model: KOLORS.id, prompt: "p", negativePrompt: " " }, KOLORS)).not.toHaveProperty(
      "negative_prompt",
    );
    const noNegative: ModelCapabilities = { ...QWEN, negativePrompt: false };
    expect(upstreamParameters({ model: QWEN.id, prompt: "p", negativePrompt: "x" }, noNegative)).not.toHaveProperty(
      "negative_prompt",
    );
  });

  it("leaves out image_size for a model with sizes but no default, unless asked", () => {
    const noDefault: ModelCapabilities = { ...QWEN, defaultImageSize: null };
    expect(upstreamParameters({ model: QWEN.id, prompt: "p" }, noDefault)).not.toHaveProperty("image_size");
    expect(upstreamParameters({ model: QWEN.id, prompt: "p", imageSize: "1664x928" }, noDefault)).toHaveProperty(
      "image_size",
      "1664x928",
    );
  });

  it("never adds image fields and keeps a zero seed", () => {
    const body = upstreamParameters({ model: EDIT_2509.id, prompt: "p", seed: 0 }, EDIT_2509);
    expect(body.seed).toBe(0);
    for (const key of ["image", "image2", "image3"]) expect(body).not.toHaveProperty(key);
  });
});
