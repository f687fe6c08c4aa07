/**
 * The vocabulary of image models: what a model accepts, and SiliconFlow's documented standard ranges.
 * The data (model-catalogue.ts), the configuration's override schema (model-overrides.ts) and the
 * merge that checks an override (model-merge.ts) are all written in these terms.
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

/** Capabilities are shared between the registry and every caller; freezing makes a stray write loud. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
