import { exceedsCodePoints, quoteInput } from "../observability/truncate.js";
import { badInput } from "../errors.js";
import type { ModelCapabilities, NumberRange } from "./model-capabilities.js";
import type { ImageModelInfo } from "./model-registry.js";

/** A generation request as the client gave it, before any model-specific filtering. */
export interface GenerationParams {
  model: string;
  prompt: string;
  negativePrompt?: string | null;
  imageSize?: string | null;
  batchSize?: number | null;
  seed?: number | null;
  numInferenceSteps?: number | null;
  guidanceScale?: number | null;
  cfg?: number | null;
}

export interface ValidationLimits {
  /** In characters (Unicode code points), for prompt and negativePrompt alike. */
  maxPromptLength: number;
}

/** SiliconFlow's documented seed range: wider than a GraphQL Int, still a safe JavaScript integer. */
export const MAX_SEED = 9_999_999_999;

/**
 * Checks a request against the model's capabilities and throws badInput(field, message) for the first
 * problem, in this order: model, prompt, negativePrompt, imageSize, batchSize, numInferenceSteps,
 * guidanceScale, cfg, seed, images. Messages name the limit so a client can fix the call unaided.
 *
 * Decisions:
 * - A parameter the model does not take is an error, not silently dropped: guidanceScale for a cfg
 *   model names cfg as the right parameter and vice versa. The caller asked for an effect it would
 *   not get.
 * - batchSize 1 is accepted for every model, since it asks for nothing the model cannot do.
 * - An empty or whitespace-only negativePrompt counts as not given (it asks for nothing), so it is
 *   neither refused nor sent.
 *
 * availableModelIds (not in the original sketch) only feeds the "unknown model" message; without it
 * the message omits the list rather than claim there is none. Returning normally proves the model
 * exists, hence the assertion signature.
 */
export function validateGeneration(
  params: GenerationParams,
  imageCount: number,
  model: ImageModelInfo | undefined,
  limits: ValidationLimits,
  availableModelIds?: readonly string[],
): asserts model is ImageModelInfo {
  if (model === undefined) {
    const known =
      availableModelIds === undefined
        ? ""
        : `; available models: ${availableModelIds.length === 0 ? "none" : availableModelIds.join(", ")}`;
    // Quoted short: anyone can send a megabyte as a model name, and it must not come back whole.
    throw badInput("input.model", `unknown model ${quoteInput(params.model)}${known}`);
  }
  const id = model.id;
  if (!model.available) {
    throw badInput("input.model", `model "${id}" is not available with the configured API key`);
  }

  if (params.prompt === "") throw badInput("input.prompt", "prompt must not be empty");
  if (isBlank(params.prompt)) throw badInput("input.prompt", "prompt must not be only whitespace");
  if (exceedsCodePoints(params.prompt, limits.maxPromptLength)) {
    throw badInput("input.prompt", `prompt is longer than ${limits.maxPromptLength} characters`);
  }

  if (hasNegativePrompt(params)) {
    if (!model.negativePrompt) throw badInput("input.negativePrompt", `${id} takes no negativePrompt`);
    if (exceedsCodePoints(params.negativePrompt, limits.maxPromptLength)) {
      throw badInput("input.negativePrompt", `negativePrompt is longer than ${limits.maxPromptLength} characters`);
    }
  }

  if (isGiven(params.imageSize)) {
    if (model.imageSizes.length === 0) throw badInput("input.imageSize", `${id} takes no imageSize`);
    if (!model.imageSizes.includes(params.imageSize)) {
      throw badInput("input.imageSize", `imageSize must be one of ${model.imageSizes.join(", ")} for ${id}`);
    }
  }

  if (isGiven(params.batchSize)) {
    checkNumber("input.batchSize", "batchSize", params.batchSize, true);
    if (model.maxBatchSize <= 1) {
      if (params.batchSize !== 1) throw badInput("input.batchSize", `batchSize must be 1 for ${id}`);
    } else {
      checkRange("input.batchSize", "batchSize", params.batchSize, { min: 1, max: model.maxBatchSize }, id);
    }
  }

  if (isGiven(params.numInferenceSteps)) {
    checkNumber("input.numInferenceSteps", "numInferenceSteps", params.numInferenceSteps, true);
    checkRange("input.numInferenceSteps", "numInferenceSteps", params.numInferenceSteps, model.steps, id);
  }

  checkGuidance(params.guidanceScale, "GUIDANCE_SCALE", model);
  checkGuidance(params.cfg, "CFG", model);

  if (isGiven(params.seed)) {
    if (!model.acceptsSeed) throw badInput("input.seed", `${id} takes no seed`);
    checkNumber("input.seed", "seed", params.seed, true);
    if (params.seed < 0 || params.seed > MAX_SEED) {
      throw badInput("input.seed", `seed must be between 0 and ${MAX_SEED}`);
    }
  }

  if (!Number.isInteger(imageCount) || imageCount < 0) {
    // Not the client's fault: the caller counts the uploads.
    throw new TypeError(`imageCount must be a whole number >= 0, got ${imageCount}`);
  }
  if (imageCount < model.minInputImages) {
    throw badInput("input.images", `${id} needs at least ${countOf(model.minInputImages)}`);
  }
  if (imageCount > model.maxInputImages) {
    throw badInput(
      "input.images",
      model.maxInputImages === 0
        ? `${id} takes no input images, got ${imageCount}`
        : `${id} takes at most ${countOf(model.maxInputImages)}, got ${imageCount}`,
    );
  }
}

/**
 * The SiliconFlow body fields for this model, snake_case, without the image fields (the caller adds
 * those). Only what the model takes is included, so call validateGeneration first: anything it would
 * refuse is simply left out here. Defaults are not filled in, except image_size: a model with sizes
 * gets its default size when none was asked for, so the output size is the one the catalogue advertises.
 */
export function upstreamParameters(params: GenerationParams, model: ModelCapabilities): Record<string, string | number> {
  const body: Record<string, string | number> = { model: model.id, prompt: params.prompt };
  if (model.negativePrompt && hasNegativePrompt(params)) body.negative_prompt = params.negativePrompt;
  if (model.imageSizes.length > 0) {
    const size = params.imageSize ?? model.defaultImageSize;
    if (isGiven(size)) body.image_size = size;
  }
  if (model.maxBatchSize > 1 && isGiven(params.batchSize)) body.batch_size = params.batchSize;
  if (model.acceptsSeed && isGiven(params.seed)) body.seed = params.seed;
  if (isGiven(params.numInferenceSteps)) body.num_inference_steps = params.numInferenceSteps;
  if (model.guidance === "GUIDANCE_SCALE" && isGiven(params.guidanceScale)) body.guidance_scale = params.guidanceScale;
  if (model.guidance === "CFG" && isGiven(params.cfg)) body.cfg = params.cfg;
  return body;
}

const GUIDANCE_NAMES = { GUIDANCE_SCALE: "guidanceScale", CFG: "cfg" } as const;

function checkGuidance(value: number | null | undefined, kind: "GUIDANCE_SCALE" | "CFG", model: ImageModelInfo): void {
  if (!isGiven(value)) return;
  const name = GUIDANCE_NAMES[kind];
  const field = `input.${name}`;
  if (model.guidance === "NONE") throw badInput(field, `${model.id} takes no ${name}`);
  if (model.guidance !== kind) {
    throw badInput(field, `${model.id} takes ${GUIDANCE_NAMES[model.guidance]}, not ${name}`);
  }
  checkNumber(field, name, value, false);
  if (model.guidanceRange !== null) checkRange(field, name, value, model.guidanceRange, model.id);
}

function checkNumber(field: string, name: string, value: number, integer: boolean): void {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw badInput(field, `${name} must be a finite number`);
  }
  if (integer && !Number.isInteger(value)) throw badInput(field, `${name} must be a whole number, got ${value}`);
}

function checkRange(
  field: string,
  name: string,
  value: number,
  range: Pick<NumberRange, "min" | "max">,
  modelId: string,
): void {
  if (value < range.min || value > range.max) {
    throw badInput(field, `${name} must be between ${range.min} and ${range.max} for ${modelId}`);
  }
}

function isGiven<T>(value: T | null | undefined): value is T {
  return value !== null && value !== undefined;
}

function hasNegativePrompt(params: GenerationParams): params is GenerationParams & { negativePrompt: string } {
  return typeof params.negativePrompt === "string" && !isBlank(params.negativePrompt);
}

// \s is Unicode-aware in JS, so full-width spaces (common in CJK prompts) count as blank too.
function isBlank(text: string): boolean {
  return /^\s*$/u.test(text);
}

function countOf(n: number): string {
  return n === 1 ? "1 image" : `${n} images`;
}
