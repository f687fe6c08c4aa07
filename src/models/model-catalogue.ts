import { deepFreeze, STANDARD_GUIDANCE_RANGES, STANDARD_STEPS, type ModelCapabilities } from "./model-capabilities.js";

/**
 * What the gateway knows about each image model. SiliconFlow's model list gives ids only, so the
 * capabilities live here (built in) and in the configuration file (overrides and additions): the
 * upstream catalogue changes every few months and an operator must be able to follow it without a release.
 *
 * Sources: docs/siliconflow.md. Values not stated there are assumptions, marked as such.
 */

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
