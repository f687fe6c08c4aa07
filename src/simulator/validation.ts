import { parseSize, type SimulatedModel, type Size } from "./catalogue.js";
import { modelNotFound, valueError, type ErrorReply } from "./responses.js";

/**
 * Checks a generation body the way SiliconFlow does: unknown model → 20012, any value error → 20015,
 * both HTTP 400. Fields a model does not read (e.g. `cfg` for Kolors) are ignored, as the real API
 * reportedly does; fields that change what is drawn (`image_size`, extra input images) are refused.
 */

export type ImageRef = { field: ImageField; kind: "data"; base64: string } | { field: ImageField; kind: "url"; url: string };

export type ImageField = "image" | "image2" | "image3";
const imageFields: readonly ImageField[] = ["image", "image2", "image3"];

export interface GenerationRequest {
  model: SimulatedModel;
  prompt: string;
  /** The output size; undefined for edit models, whose output follows the first input image. */
  size: Size | undefined;
  batchSize: number;
  /** The request's seed, or undefined when the simulator must pick one. */
  seed: number | undefined;
  images: ImageRef[];
}

export type Validation = { ok: true; request: GenerationRequest } | { ok: false; reply: ErrorReply };

export const maxSeed = 9_999_999_999;

const dataUrlPrefix = /^data:image\/(png|jpeg|webp);base64,/;

function refuse(message: string): Validation {
  return { ok: false, reply: valueError(message) };
}

/** JSON `null` counts as absent: clients commonly serialise unset optional fields that way. */
function given(body: Record<string, unknown>, key: string): boolean {
  return body[key] !== undefined && body[key] !== null;
}

function checkInteger(body: Record<string, unknown>, key: string, min: number, max: number): string | undefined {
  if (!given(body, key)) return undefined;
  const value = body[key];
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    return `${key} must be an integer between ${min} and ${max}`;
  }
  return undefined;
}

function checkNumber(body: Record<string, unknown>, key: string, min: number, max: number): string | undefined {
  if (!given(body, key)) return undefined;
  const value = body[key];
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
    return `${key} must be a number between ${min} and ${max}`;
  }
  return undefined;
}

function parseImageRef(field: ImageField, value: unknown): ImageRef | string {
  if (typeof value !== "string") return `${field} must be a string`;
  const data = dataUrlPrefix.exec(value);
  if (data) {
    const base64 = value.slice(data[0].length);
    if (base64.length === 0) return `${field} has no image data`;
    return { field, kind: "data", base64 };
  }
  if (/^https?:\/\//i.test(value)) {
    try {
      new URL(value);
    } catch {
      return `${field} is not a valid URL`;
    }
    return { field, kind: "url", url: value };
  }
  return `${field} must be a data:image/(png|jpeg|webp);base64 URL or an http(s) URL`;
}

export function validateGeneration(body: Record<string, unknown>, models: readonly SimulatedModel[]): Validation {
  const model = typeof body.model === "string" ? models.find((m) => m.id === body.model) : undefined;
  if (!model) return { ok: false, reply: modelNotFound };

  if (typeof body.prompt !== "string" || body.prompt.trim() === "") return refuse("prompt is required and must be a non-empty string");
  if (given(body, "negative_prompt") && typeof body.negative_prompt !== "string") {
    return refuse("negative_prompt must be a string");
  }

  let size: Size | undefined;
  if (model.sizes.length === 0) {
    if (given(body, "image_size")) return refuse(`image_size is not supported by ${model.id}`);
  } else if (given(body, "image_size")) {
    const requested = body.image_size;
    if (typeof requested !== "string" || !model.sizes.includes(requested)) {
      return refuse(`image_size must be one of ${model.sizes.join(", ")} for ${model.id}`);
    }
    size = parseSize(requested);
  } else {
    size = parseSize(model.defaultSize);
  }

  const problem =
    checkInteger(body, "batch_size", 1, model.maxBatch) ??
    checkInteger(body, "num_inference_steps", 1, 100) ??
    (model.guidance === "guidance_scale" ? checkNumber(body, "guidance_scale", 0, 20) : undefined) ??
    (model.guidance === "cfg" ? checkNumber(body, "cfg", 0.1, 20) : undefined) ??
    checkInteger(body, "seed", 0, maxSeed);
  if (problem) return refuse(problem);

  const images: ImageRef[] = [];
  for (const [index, field] of imageFields.entries()) {
    if (!given(body, field)) continue;
    if (index >= model.maxImages) {
      return refuse(
        model.maxImages === 0
          ? `${model.id} does not take input images`
          : `${field} is not supported by ${model.id} (at most ${model.maxImages} input image${model.maxImages === 1 ? "" : "s"})`,
      );
    }
    if (index > 0 && !given(body, "image")) return refuse(`${field} given without image`);
    const ref = parseImageRef(field, body[field]);
    if (typeof ref === "string") return refuse(ref);
    images.push(ref);
  }
  if (images.length < model.minImages) return refuse(`image is required for ${model.id}`);

  return {
    ok: true,
    request: {
      model,
      prompt: body.prompt,
      size,
      batchSize: typeof body.batch_size === "number" ? body.batch_size : 1,
      seed: typeof body.seed === "number" ? body.seed : undefined,
      images,
    },
  };
}
