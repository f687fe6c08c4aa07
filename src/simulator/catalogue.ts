/**
 * The models the simulator pretends to serve, with the capabilities SiliconFlow documents for them
 * (docs/siliconflow.md, "Models"). The real catalogue changes every few months, so tests may pass
 * their own list through `SimulatorOptions.models`.
 */
export interface SimulatedModel {
  id: string;
  /** Offered `image_size` values ("WxH"); empty when the model refuses `image_size` (edit models). */
  sizes: string[];
  /** Largest accepted `batch_size` (1 when the model makes one image per call). */
  maxBatch: number;
  /** How many input images (`image`, `image2`, `image3`) the model takes at most and at least. */
  maxImages: number;
  minImages: number;
  /** Which guidance knob the model reads; the other one is ignored, as the real API reportedly does. */
  guidance: "guidance_scale" | "cfg" | "none";
  /**
   * Output size when the request names none. For models without `sizes` the output follows the first
   * input image instead, so this is only a fallback.
   */
  defaultSize: string;
}

const zImageSizes = ["1024x1024", "1200x896", "1264x848", "1376x768", "896x1200", "768x1376"];

export const builtinModels: readonly SimulatedModel[] = Object.freeze([
  {
    id: "Kwai-Kolors/Kolors",
    sizes: ["1024x1024", "960x1280", "768x1024", "720x1440", "720x1280"],
    maxBatch: 4,
    // Sources disagree on whether Kolors takes an input image: accepting one optional image keeps a
    // gateway that sends it working against the simulator, whichever source is right.
    maxImages: 1,
    minImages: 0,
    guidance: "guidance_scale",
    defaultSize: "1024x1024",
  },
  {
    id: "Qwen/Qwen-Image",
    sizes: ["1328x1328", "1664x928", "928x1664", "1472x1140", "1140x1472", "1584x1056", "1056x1584"],
    maxBatch: 1,
    maxImages: 0,
    minImages: 0,
    guidance: "cfg",
    defaultSize: "1328x1328",
  },
  {
    id: "Qwen/Qwen-Image-Edit",
    sizes: [],
    maxBatch: 1,
    maxImages: 1,
    minImages: 1,
    guidance: "cfg",
    defaultSize: "1024x1024",
  },
  {
    id: "Qwen/Qwen-Image-Edit-2509",
    sizes: [],
    maxBatch: 1,
    maxImages: 3,
    minImages: 1,
    guidance: "cfg",
    defaultSize: "1024x1024",
  },
  ...["Tongyi-MAI/Z-Image-Turbo", "Tongyi-MAI/Z-Image", "baidu/ERNIE-Image-Turbo"].map(
    (id): SimulatedModel => ({
      id,
      sizes: [...zImageSizes],
      maxBatch: 1,
      maxImages: 0,
      minImages: 0,
      // docs/siliconflow.md has a single source for these models and it names no guidance parameter.
      guidance: "none",
      defaultSize: "1024x1024",
    }),
  ),
]);

export interface Size {
  width: number;
  height: number;
}

/** Parses "WxH"; undefined for anything else (the caller decides how to refuse it). */
export function parseSize(value: string): Size | undefined {
  const match = /^(\d{1,5})x(\d{1,5})$/.exec(value);
  if (!match) return undefined;
  const width = Number(match[1]);
  const height = Number(match[2]);
  if (width < 1 || height < 1) return undefined;
  return { width, height };
}
