import type { ImageModel } from "./api.js";
import { el } from "./dom.js";
import { ui } from "./elements.js";
import { formatBytes, FORMAT_NAMES, MAX_UPLOAD_BYTES } from "./files.js";

function rangeText(range: { min: number; max: number; default: number | null }): string {
  const span = `${range.min} to ${range.max}`;
  return range.default === null ? `${span}.` : `${span}; default ${range.default}.`;
}

function imageCountText(model: ImageModel): string {
  const { minInputImages: min, maxInputImages: max } = model;
  const plural = max === 1 ? "" : "s";
  if (max === 0) return "no input images";
  if (min === 0) return `up to ${max} optional input image${plural}`;
  return `${min === max ? max : `${min} to ${max}`} input image${plural}`;
}

function setNumberInput(input: HTMLInputElement, range: { min: number; max: number; default: number | null }): void {
  input.min = String(range.min);
  input.max = String(range.max);
  input.value = range.default === null ? "" : String(range.default);
  input.placeholder = range.default === null ? "" : String(range.default);
}

/** Shows the fields the model takes, with its ranges and defaults, and hides the others. */
export function showModelFields(model: ImageModel | undefined): void {
  if (!model) {
    ui.modelHelp.textContent = "";
    return;
  }
  const guidanceName = model.guidance === "CFG" ? "CFG" : "guidance scale";
  ui.modelHelp.textContent = [
    model.kind === "IMAGE_EDIT" ? "Image editing" : "Text to image",
    imageCountText(model),
    model.maxBatchSize > 1 ? `up to ${model.maxBatchSize} images per call` : "one image per call",
    model.guidance === "NONE" ? "no guidance setting" : guidanceName,
  ].join(" · ");

  ui.imagesField.hidden = model.maxInputImages === 0;
  ui.imagesRequired.hidden = model.minInputImages === 0;
  ui.imagesHint.textContent =
    `${model.minInputImages === 0 ? "Up to" : model.minInputImages === model.maxInputImages ? "Exactly" : `${model.minInputImages} to`} ` +
    `${model.maxInputImages} image${model.maxInputImages === 1 ? "" : "s"}${model.maxInputImages > 1 ? ", sent in this order" : ""}; ` +
    `${FORMAT_NAMES}; up to ${formatBytes(MAX_UPLOAD_BYTES)} each.`;

  ui.negativeField.hidden = !model.negativePrompt;

  ui.sizeField.hidden = model.imageSizes.length === 0;
  ui.size.replaceChildren(
    ...model.imageSizes.map((size) => el("option", { value: size, selected: size === model.defaultImageSize }, size.replace("x", " × "))),
  );

  ui.batchField.hidden = model.maxBatchSize <= 1;
  ui.batch.max = String(model.maxBatchSize);
  ui.batch.value = "1";
  ui.batchHint.textContent = `1 to ${model.maxBatchSize}.`;

  ui.guidanceField.hidden = model.guidance === "NONE" || model.guidanceRange === null;
  ui.guidanceLabel.textContent = model.guidance === "CFG" ? "CFG" : "Guidance scale";
  if (model.guidanceRange) {
    setNumberInput(ui.guidance, model.guidanceRange);
    ui.guidanceHint.textContent = rangeText(model.guidanceRange);
  }

  setNumberInput(ui.steps, model.steps);
  ui.stepsHint.textContent = rangeText(model.steps);

  ui.seedField.hidden = !model.seedRange;
}
