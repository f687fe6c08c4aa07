import { z } from "zod";

/**
 * What the gateway knows about each image model. SiliconFlow's model list gives ids only, so the
 * capabilities live here (built in) and in the configuration file (overrides and additions): the
 * upstream catalogue changes every few months and an operator must be able to follow it without a release.
 *
 * Sources: docs/siliconflow.md. Values not stated there are assumptions, marked as such.
 */

// Const objects rather than bare unions: the GraphQL schema registers these very objects as its enums.
export const ModelKind = { TEXT_TO_IMAGE: "TEXT_TO_IMAGE", IMAGE_EDIT: "IMAGE_EDIT" } as const;
export type ModelKind = (typeof ModelKind)[keyof typeof ModelKind];
export const GuidanceParameter = { GUIDANCE_SCALE: "GUIDANCE_SCALE", CFG: "CFG", NONE: "NONE" } as const;
export type GuidanceParameter = (typeof GuidanceParameter)[keyof typeof GuidanceParameter];

export interface NumberRange {
  min: number;
  max: number;
  default: number | null;
}

export interface ModelCapabilities {
  id: string;
  displayName: string;
  kind: ModelKind;
  minInputImages: number;
  maxInputImages: number;
  /** Empty when the model takes no image_size. */
  imageSizes: string[];
  /** Sent when the caller gives no size; null lets SiliconFlow decide. */
  defaultImageSize: string | null;
  /** 1 when the model takes no batch_size. */
  maxBatchSize: number;
  guidance: GuidanceParameter;
  /** Null exactly when guidance is NONE. */
  guidanceRange: NumberRange | null;
  steps: NumberRange;
  negativePrompt: boolean;
  acceptsSeed: boolean;
}

/**
 * The wire format has exactly three image fields (`image`, `image2`, `image3`); a model claiming more
 * could not be called without new client code, so configuration may not claim it.
 */
export const MAX_UPSTREAM_INPUT_IMAGES = 3;

/** SiliconFlow's documented ranges for each guidance parameter. */
export const STANDARD_GUIDANCE_RANGES: Readonly<Record<Exclude<GuidanceParameter, "NONE">, Readonly<NumberRange>>> = {
  GUIDANCE_SCALE: { min: 0, max: 20, default: 7.5 },
  CFG: { min: 0.1, max: 20, default: 4 },
};

/** SiliconFlow's documented num_inference_steps range and default. */
export const STANDARD_STEPS: Readonly<NumberRange> = { min: 1, max: 100, default: 20 };

const KOLORS_SIZES = ["1024x1024", "960x1280", "768x1024", "720x1440", "720x1280"];
const QWEN_IMAGE_SIZES = ["1328x1328", "1664x928", "928x1664", "1472x1140", "1140x1472", "1584x1056", "1056x1584"];
const Z_IMAGE_SIZES = ["1024x1024", "1200x896", "1264x848", "1376x768", "896x1200", "768x1376"];

/**
 * Assumptions beyond the notes:
 * - Kolors: sources disagree on whether it takes an input image; one optional image is allowed so a
 *   client relying on it is not refused, and it stays a TEXT_TO_IMAGE model.
 * - Z-Image-Turbo and ERNIE-Image-Turbo are few-step distilled models: their advertised step default
 *   is 8 (Z-Image-Turbo's model card uses 8; ERNIE's is assumed alike). The range stays SiliconFlow's
 *   1..100 because nothing documents a narrower one. Defaults are advertised, never sent unasked.
 * - The Z-Image / ERNIE row has a single source and names no guidance parameter: guidance NONE.
 * - Every model is assumed to take negative_prompt and seed (documented as generally optional);
 *   configuration can switch either off per model.
 * - Default sizes are the first listed (the square one) for every model with sizes.
 */
export const BUILTIN_MODELS: readonly ModelCapabilities[] = deepFreeze([
  {
    id: "Kwai-Kolors/Kolors",
    displayName: "Kolors",
    kind: "TEXT_TO_IMAGE",
    minInputImages: 0,
    maxInputImages: 1,
    imageSizes: [...KOLORS_SIZES],
    defaultImageSize: "1024x1024",
    maxBatchSize: 4,
    guidance: "GUIDANCE_SCALE",
    guidanceRange: { ...STANDARD_GUIDANCE_RANGES.GUIDANCE_SCALE },
    steps: { ...STANDARD_STEPS },
    negativePrompt: true,
    acceptsSeed: true,
  },
  {
    id: "Qwen/Qwen-Image",
    displayName: "Qwen-Image",
    kind: "TEXT_TO_IMAGE",
    minInputImages: 0,
    maxInputImages: 0,
    imageSizes: [...QWEN_IMAGE_SIZES],
    defaultImageSize: "1328x1328",
    maxBatchSize: 1,
    guidance: "CFG",
    guidanceRange: { ...STANDARD_GUIDANCE_RANGES.CFG },
    steps: { ...STANDARD_STEPS },
    negativePrompt: true,
    acceptsSeed: true,
  },
  {
    id: "Qwen/Qwen-Image-Edit",
    displayName: "Qwen-Image-Edit",
    kind: "IMAGE_EDIT",
    minInputImages: 1,
    maxInputImages: 1,
    imageSizes: [],
    defaultImageSize: null,
    maxBatchSize: 1,
    guidance: "CFG",
    guidanceRange: { ...STANDARD_GUIDANCE_RANGES.CFG },
    steps: { ...STANDARD_STEPS },
    negativePrompt: true,
    acceptsSeed: true,
  },
  {
    id: "Qwen/Qwen-Image-Edit-2509",
    displayName: "Qwen-Image-Edit-2509",
    kind: "IMAGE_EDIT",
    minInputImages: 1,
    maxInputImages: 3,
    imageSizes: [],
    defaultImageSize: null,
    maxBatchSize: 1,
    guidance: "CFG",
    guidanceRange: { ...STANDARD_GUIDANCE_RANGES.CFG },
    steps: { ...STANDARD_STEPS },
    negativePrompt: true,
    acceptsSeed: true,
  },
  {
    id: "Tongyi-MAI/Z-Image-Turbo",
    displayName: "Z-Image-Turbo",
    kind: "TEXT_TO_IMAGE",
    minInputImages: 0,
    maxInputImages: 0,
    imageSizes: [...Z_IMAGE_SIZES],
    defaultImageSize: "1024x1024",
    maxBatchSize: 1,
    guidance: "NONE",
    guidanceRange: null,
    steps: { min: 1, max: 100, default: 8 },
    negativePrompt: true,
    acceptsSeed: true,
  },
  {
    id: "Tongyi-MAI/Z-Image",
    displayName: "Z-Image",
    kind: "TEXT_TO_IMAGE",
    minInputImages: 0,
    maxInputImages: 0,
    imageSizes: [...Z_IMAGE_SIZES],
    defaultImageSize: "1024x1024",
    maxBatchSize: 1,
    guidance: "NONE",
    guidanceRange: null,
    steps: { ...STANDARD_STEPS },
    negativePrompt: true,
    acceptsSeed: true,
  },
  {
    id: "baidu/ERNIE-Image-Turbo",
    displayName: "ERNIE-Image-Turbo",
    kind: "TEXT_TO_IMAGE",
    minInputImages: 0,
    maxInputImages: 0,
    imageSizes: [...Z_IMAGE_SIZES],
    defaultImageSize: "1024x1024",
    maxBatchSize: 1,
    guidance: "NONE",
    guidanceRange: null,
    steps: { min: 1, max: 100, default: 8 },
    negativePrompt: true,
    acceptsSeed: true,
  },
]);

/**
 * What a model nobody described gets: the least it could plausibly need. An edit model gets exactly one
 * input image, since an edit model with no image slot could never be called.
 */
export function conservativeCapabilities(id: string, kind: ModelKind = "TEXT_TO_IMAGE"): ModelCapabilities {
  const inputs = kind === "IMAGE_EDIT" ? 1 : 0;
  return {
    id,
    displayName: id,
    kind,
    minInputImages: inputs,
    maxInputImages: inputs,
    imageSizes: [],
    defaultImageSize: null,
    maxBatchSize: 1,
    guidance: "NONE",
    guidanceRange: null,
    steps: { ...STANDARD_STEPS },
    negativePrompt: true,
    acceptsSeed: true,
  };
}

const IMAGE_SIZE_PATTERN = /^[1-9]\d{0,4}x[1-9]\d{0,4}$/;

/** Ranges merge key by key, so `steps: { max: 50 }` narrows a built-in without restating the rest. */
const numberRangeOverrideSchema = z.strictObject({
  min: z.number().optional(),
  max: z.number().optional(),
  default: z.number().nullable().optional(),
});

/**
 * One model entry of the configuration file. Only `id` is required: an entry whose id is a built-in
 * model overrides the keys it names; any other id adds a model on top of conservative defaults.
 * Unknown keys are refused so a typo (`maxBatchsize`) is reported rather than silently ignored.
 * Coherence across keys (min <= max, default size among sizes) is checked by resolveModelEntry.
 */
export const modelCapabilitiesOverrideSchema = z.strictObject({
  id: z.string().trim().min(1, "must not be empty"),
  displayName: z.string().trim().min(1, "must not be empty").optional(),
  kind: z.enum(ModelKind).optional(),
  minInputImages: z.number().int().min(0).optional(),
  maxInputImages: z.number().int().min(0).max(MAX_UPSTREAM_INPUT_IMAGES).optional(),
  imageSizes: z
    .array(z.string().regex(IMAGE_SIZE_PATTERN, 'must look like "1024x1024"'))
    .refine((sizes) => new Set(sizes).size === sizes.length, "must not repeat a size")
    .optional(),
  defaultImageSize: z.string().nullable().optional(),
  maxBatchSize: z.number().int().min(1).optional(),
  guidance: z.enum(GuidanceParameter).optional(),
  guidanceRange: numberRangeOverrideSchema.nullable().optional(),
  steps: numberRangeOverrideSchema.optional(),
  negativePrompt: z.boolean().optional(),
  acceptsSeed: z.boolean().optional(),
});

export type ModelCapabilitiesOverride = z.infer<typeof modelCapabilitiesOverrideSchema>;

/**
 * Checks one configuration entry against modelCapabilitiesOverrideSchema (entries arrive as parsed
 * YAML/JSON, so typed as unknown), throwing an Error that names the model id and the first bad key.
 */
export function parseModelEntry(entry: unknown): ModelCapabilitiesOverride {
  const parsed = modelCapabilitiesOverrideSchema.safeParse(entry);
  if (parsed.success) return parsed.data;
  const rawId = (entry as { id?: unknown } | null | undefined)?.id;
  const label = typeof rawId === "string" && rawId.trim() !== "" ? `model "${rawId.trim()}"` : "model entry";
  const issue = parsed.error.issues[0];
  const key = issue.code === "unrecognized_keys" ? issue.keys.join(", ") : formatPath(issue.path) || "(entry)";
  const message = issue.code === "unrecognized_keys" ? "unknown key" : issue.message;
  throw new Error(`${label}: ${key}: ${message}`);
}

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

function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((part, index) => (typeof part === "number" ? `[${part}]` : `${index === 0 ? "" : "."}${String(part)}`))
    .join("");
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

/** Capabilities are shared between the registry and every caller; freezing makes a stray write loud. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
