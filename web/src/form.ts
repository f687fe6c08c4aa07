import type { GenerateImagesInput, ImageModel } from "./api.js";
import { ui } from "./elements.js";
import type { ShownError } from "./errors.js";
import type { PickedImage } from "./state.js";
import { isSendableToken } from "./token.js";

/** What to fix before anything is sent, and where. */
export interface FormProblem {
  message: string;
  element: HTMLElement;
}

export function isProblem(value: unknown): value is FormProblem {
  return typeof value === "object" && value !== null && "message" in value;
}

/** What goes in the Authorization header; one the header cannot carry is left out, and readForm says why. */
export function accessToken(): string {
  const token = ui.token.value.trim();
  return isSendableToken(token) ? token : "";
}

export function tokenProblem(): FormProblem | undefined {
  if (isSendableToken(ui.token.value.trim())) return undefined;
  return { message: "The access token can only hold letters, digits and punctuation, with no spaces inside.", element: ui.token };
}

function numberFrom(input: HTMLInputElement, name: string, range: { min: number; max: number }, integer: boolean): number | undefined | FormProblem {
  const text = input.value.trim();
  if (text === "") return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    return { message: `${name} must be ${integer ? "a whole number" : "a number"}.`, element: input };
  }
  if (value < range.min || value > range.max) return { message: `${name} must be between ${range.min} and ${range.max}.`, element: input };
  return value;
}

/** The mutation's input from the form, checked against what the model accepts, or the first thing to fix. */
export function readForm(model: ImageModel, picked: readonly PickedImage[]): GenerateImagesInput | FormProblem {
  const prompt = ui.prompt.value.trim();
  if (prompt === "") return { message: "Write a prompt.", element: ui.prompt };
  const input: GenerateImagesInput = { model: model.id, prompt };

  if (model.maxInputImages > 0) {
    if (picked.length < model.minInputImages) {
      return { message: `${model.displayName} needs at least ${model.minInputImages} input image${model.minInputImages === 1 ? "" : "s"}.`, element: ui.dropzone };
    }
    if (picked.length > model.maxInputImages) {
      return { message: `${model.displayName} takes at most ${model.maxInputImages} input images: remove ${picked.length - model.maxInputImages}.`, element: ui.dropzone };
    }
    if (picked.length > 0) input.images = picked.map((image) => image.file);
  }
  if (model.negativePrompt && ui.negative.value.trim() !== "") input.negativePrompt = ui.negative.value.trim();
  if (model.imageSizes.length > 0 && ui.size.value) input.imageSize = ui.size.value;

  if (model.maxBatchSize > 1) {
    const batch = numberFrom(ui.batch, "Number of images", { min: 1, max: model.maxBatchSize }, true);
    if (isProblem(batch)) return batch;
    if (batch !== undefined) input.batchSize = batch;
  }
  if (model.guidance !== "NONE" && model.guidanceRange) {
    const name = model.guidance === "CFG" ? "CFG" : "Guidance scale";
    const guidance = numberFrom(ui.guidance, name, model.guidanceRange, false);
    if (isProblem(guidance)) return guidance;
    if (guidance !== undefined) input[model.guidance === "CFG" ? "cfg" : "guidanceScale"] = guidance;
  }
  const steps = numberFrom(ui.steps, "Steps", model.steps, true);
  if (isProblem(steps)) return steps;
  if (steps !== undefined) input.numInferenceSteps = steps;

  if (model.seedRange && ui.seed.value.trim() !== "") {
    const seed = numberFrom(ui.seed, "Seed", model.seedRange, true);
    if (isProblem(seed)) return seed;
    if (seed !== undefined) input.seed = seed;
  }
  return tokenProblem() ?? input;
}

/** The form element a server error is about: the one to mark, and to fix. */
export function errorElement(shown: ShownError): HTMLElement | undefined {
  return shown.code === "UNAUTHENTICATED" ? ui.token : fieldElement(shown.field);
}

function fieldElement(field: string | undefined): HTMLElement | undefined {
  if (!field) return undefined;
  if (field.startsWith("input.images")) return ui.dropzone;
  const key = field.replace(/^input\./, "");
  const byName: Record<string, HTMLElement> = {
    prompt: ui.prompt,
    negativePrompt: ui.negative,
    imageSize: ui.size,
    batchSize: ui.batch,
    seed: ui.seed,
    numInferenceSteps: ui.steps,
    guidanceScale: ui.guidance,
    cfg: ui.guidance,
    model: ui.model,
  };
  return byName[key];
}
