import {
  conservativeCapabilities,
  deepFreeze,
  MAX_UPSTREAM_INPUT_IMAGES,
  STANDARD_GUIDANCE_RANGES,
  type ModelCapabilities,
  type NumberRange,
} from "./model-capabilities.js";
import { IMAGE_SIZE_PATTERN, parseModelEntry } from "./model-overrides.js";

/**
 * Merges a configuration entry (checked with parseModelEntry first) onto a base model (a built-in)
 * or, without a base, onto conservativeCapabilities(id, kind). Returns a new, frozen, coherent
 * ModelCapabilities; throws an Error naming the model id and the bad key otherwise.
 *
 * Merge rules beyond "the entry's keys win":
 * - ranges merge key by key;
 * - changing `guidance` without giving `guidanceRange` takes SiliconFlow's standard range for the new
 *   parameter; guidance NONE always has guidanceRange null;
 * - giving `imageSizes` without `defaultImageSize` keeps the old default if still offered, else takes
 *   the first size (null when the list is empty);
 * - a new model's input counts follow its kind (IMAGE_EDIT: 1..1, TEXT_TO_IMAGE: 0..0).
 */
export function resolveModelEntry(override: unknown, base?: ModelCapabilities): ModelCapabilities {
  const entry = parseModelEntry(override);
  if (base !== undefined && base.id !== entry.id) {
    throw new Error(`model "${entry.id}": id: cannot override model "${base.id}" with a different id`);
  }
  const start = base ?? conservativeCapabilities(entry.id, entry.kind ?? "TEXT_TO_IMAGE");
  const fail = (key: string, message: string): never => {
    throw new Error(`model "${entry.id}": ${key}: ${message}`);
  };

  const guidance = entry.guidance ?? start.guidance;
  let guidanceRange: NumberRange | null;
  if (guidance === "NONE") {
    if (entry.guidanceRange != null) fail("guidanceRange", "must be null when guidance is NONE");
    guidanceRange = null;
  } else {
    if (entry.guidanceRange === null) fail("guidanceRange", `must not be null when guidance is ${guidance}`);
    const baseRange =
      start.guidance === guidance && start.guidanceRange !== null
        ? start.guidanceRange
        : STANDARD_GUIDANCE_RANGES[guidance];
    guidanceRange = mergeRange(baseRange, entry.guidanceRange ?? undefined);
  }

  const imageSizes = entry.imageSizes ?? start.imageSizes;
  let defaultImageSize: string | null;
  if (entry.defaultImageSize !== undefined) {
    defaultImageSize = entry.defaultImageSize;
  } else if (start.defaultImageSize !== null && imageSizes.includes(start.defaultImageSize)) {
    defaultImageSize = start.defaultImageSize;
  } else if (entry.imageSizes !== undefined) {
    defaultImageSize = imageSizes[0] ?? null;
  } else {
    defaultImageSize = start.defaultImageSize;
  }

  const result: ModelCapabilities = {
    id: entry.id,
    displayName: entry.displayName ?? start.displayName,
    kind: entry.kind ?? start.kind,
    minInputImages: entry.minInputImages ?? start.minInputImages,
    maxInputImages: entry.maxInputImages ?? start.maxInputImages,
    imageSizes: [...imageSizes],
    defaultImageSize,
    maxBatchSize: entry.maxBatchSize ?? start.maxBatchSize,
    guidance,
    guidanceRange,
    steps: mergeRange(start.steps, entry.steps),
    negativePrompt: entry.negativePrompt ?? start.negativePrompt,
    acceptsSeed: entry.acceptsSeed ?? start.acceptsSeed,
  };

  // A base that is itself incoherent (a bad built-in) is reported the same way.
  if (!Number.isInteger(result.minInputImages) || result.minInputImages < 0) {
    fail("minInputImages", "must be a whole number >= 0");
  }
  if (!Number.isInteger(result.maxInputImages) || result.maxInputImages > MAX_UPSTREAM_INPUT_IMAGES) {
    fail("maxInputImages", `must be a whole number <= ${MAX_UPSTREAM_INPUT_IMAGES}`);
  }
  if (result.minInputImages > result.maxInputImages) {
    fail("minInputImages", `${result.minInputImages} is more than maxInputImages ${result.maxInputImages}`);
  }
  if (result.kind === "IMAGE_EDIT" && result.maxInputImages < 1) {
    fail("maxInputImages", "must be at least 1 for an IMAGE_EDIT model");
  }
  for (const size of result.imageSizes) {
    if (!IMAGE_SIZE_PATTERN.test(size)) fail("imageSizes", `"${size}" does not look like "1024x1024"`);
  }
  if (new Set(result.imageSizes).size !== result.imageSizes.length) fail("imageSizes", "must not repeat a size");
  if (result.defaultImageSize !== null && !result.imageSizes.includes(result.defaultImageSize)) {
    fail(
      "defaultImageSize",
      result.imageSizes.length === 0
        ? `"${result.defaultImageSize}" given but the model takes no imageSize`
        : `"${result.defaultImageSize}" is not among imageSizes (${result.imageSizes.join(", ")})`,
    );
  }
  if (!Number.isInteger(result.maxBatchSize) || result.maxBatchSize < 1) {
    fail("maxBatchSize", "must be a whole number >= 1");
  }
  if (result.guidanceRange !== null) checkRange("guidanceRange", result.guidanceRange, 0, false, fail);
  checkRange("steps", result.steps, 1, true, fail);

  return deepFreeze(result);
}

function mergeRange(base: Readonly<NumberRange>, override: Partial<NumberRange> | undefined): NumberRange {
  return {
    min: override?.min ?? base.min,
    max: override?.max ?? base.max,
    default: override?.default !== undefined ? override.default : base.default,
  };
}

function checkRange(
  key: string,
  range: NumberRange,
  lowest: number,
  integers: boolean,
  fail: (key: string, message: string) => never,
): void {
  for (const part of ["min", "max", "default"] as const) {
    const value = range[part];
    if (value === null) continue;
    if (!Number.isFinite(value)) fail(`${key}.${part}`, "must be a finite number");
    if (integers && !Number.isInteger(value)) fail(`${key}.${part}`, "must be a whole number");
    if (value < lowest) fail(`${key}.${part}`, `must be >= ${lowest}`);
  }
  if (range.min > range.max) fail(`${key}.min`, `${range.min} is more than ${key}.max ${range.max}`);
  if (range.default !== null && (range.default < range.min || range.default > range.max)) {
    fail(`${key}.default`, `${range.default} is outside ${range.min}..${range.max}`);
  }
}
