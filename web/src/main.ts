import "./styles.css";
import { createClient, fetchModels, generateImages, type GenerateImagesPayload, type ImageModel } from "./api.js";
import { el } from "./dom.js";
import { ui } from "./elements.js";
import { clearError, markInvalid, showError } from "./error-panel.js";
import { describeError, ERROR_SENTENCES } from "./errors.js";
import { accessToken, errorElement, isProblem, readForm, tokenProblem } from "./form.js";
import { ACCEPT_ATTRIBUTE, fileProblem, formatBytes, FORMAT_NAMES, MAX_UPLOAD_BYTES } from "./files.js";
import { browserStorage, CallHistory, excerpt, type HistoryEntry } from "./history.js";
import { createPageState } from "./state.js";
import { setBusy, setStatus } from "./status.js";
import { tabStorage, TokenStore } from "./token.js";

/** Pause in typing before a token is tried on the model list, so a half-typed one is not sent per keystroke. */
const TOKEN_SETTLE_MS = 600;

const client = createClient("/graphql", accessToken);
const history = new CallHistory(browserStorage());
const tokens = new TokenStore(tabStorage());
const state = createPageState();

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

function applyModel(model: ImageModel | undefined): void {
  state.current = model;
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

  ui.seedField.hidden = !model.acceptsSeed;
  renderPreviews();
}

function renderModels(list: readonly ImageModel[]): void {
  const options = list.map((model) =>
    el(
      "option",
      { value: model.id, disabled: !model.available },
      model.available ? model.displayName : `${model.displayName} (not available with the gateway's key)`,
    ),
  );
  ui.model.replaceChildren(...options);
  const first = list.find((model) => model.available);
  ui.model.value = first?.id ?? "";
  ui.model.disabled = list.length === 0;
  applyModel(first);
}

async function loadModels(): Promise<void> {
  const request = ++state.modelsRequest;
  const tokenSent = accessToken() !== "";
  setStatus("Loading models…", true);
  try {
    const list = await fetchModels(client);
    if (request !== state.modelsRequest) return;
    state.modelsNeedToken = false;
    state.models = list;
    clearError();
    renderModels(state.models);
    setStatus(state.models.some((model) => model.available) ? "" : "No model is available with the gateway's key.", false);
  } catch (error) {
    if (request !== state.modelsRequest) return;
    setStatus("", false);
    ui.model.replaceChildren(el("option", { value: "" }, "Models could not be loaded"));
    const shown = describeError(error, { tokenSent });
    state.modelsNeedToken = shown.code === "UNAUTHENTICATED";
    clearError();
    showError({ ...shown, headline: `The list of models could not be loaded. ${shown.headline}` });
    if (state.modelsNeedToken) markInvalid(ui.token, true);
  }
}

/** Retries the model list with a new token, but only when the lack of one is what stopped it. */
function retryModelsAfter(delay: number): void {
  window.clearTimeout(state.tokenSettle);
  if (!state.modelsNeedToken || accessToken() === "") return;
  state.tokenSettle = window.setTimeout(() => void loadModels(), delay);
}

function renderProblems(problems: readonly string[]): void {
  ui.imagesProblems.replaceChildren(...problems.map((problem) => el("p", { class: "field-problem" }, problem)));
}

function renderPreviews(): void {
  const max = state.current?.maxInputImages ?? 0;
  ui.previews.replaceChildren(
    ...state.picked.map((image, index) => {
      const remove = el("button", { type: "button", class: "button button--small", "aria-label": `Remove ${image.file.name}` }, "Remove");
      remove.addEventListener("click", () => removeImage(index));
      const dimensions = el("span", { class: "preview__dims" });
      const thumbnail = el("img", { src: image.url, alt: `Preview of ${image.file.name}`, class: "preview__img" });
      thumbnail.addEventListener("load", () => {
        dimensions.textContent = ` · ${thumbnail.naturalWidth} × ${thumbnail.naturalHeight}`;
      });
      thumbnail.addEventListener("error", () => {
        // HEIC and some TIFFs have no preview in most browsers; the gateway reads them all the same.
        thumbnail.replaceWith(el("span", { class: "preview__img preview__img--none" }, "No preview"));
      });
      return el(
        "li",
        { class: index < max ? "preview" : "preview preview--over" },
        thumbnail,
        el(
          "span",
          { class: "preview__meta" },
          el("span", { class: "preview__name" }, `${index + 1}. ${image.file.name}`),
          el("span", { class: "preview__size" }, formatBytes(image.file.size), dimensions),
          index < max ? null : el("span", { class: "preview__warn" }, "Over this model's limit"),
        ),
        remove,
      );
    }),
  );
  ui.dropzone.disabled = state.running !== undefined;
}

function addFiles(files: Iterable<File>): void {
  const max = state.current?.maxInputImages ?? 0;
  const problems: string[] = [];
  for (const file of files) {
    const problem = fileProblem(file);
    if (problem) {
      problems.push(problem);
    } else if (state.picked.length >= max) {
      problems.push(`${file.name} was left out: ${state.current?.displayName ?? "this model"} takes at most ${max} image${max === 1 ? "" : "s"}.`);
    } else {
      state.picked.push({ file, url: URL.createObjectURL(file) });
    }
  }
  renderProblems(problems);
  renderPreviews();
}

function removeImage(index: number): void {
  const [gone] = state.picked.splice(index, 1);
  if (gone) URL.revokeObjectURL(gone.url);
  renderProblems([]);
  renderPreviews();
  // Keep the keyboard where it was: on the next Remove button, or back on the drop zone.
  const buttons = ui.previews.querySelectorAll("button");
  (buttons[Math.min(index, buttons.length - 1)] ?? ui.dropzone).focus();
}

function renderResults(payload: GenerateImagesPayload, prompt: string): void {
  const timings = [
    payload.seed === null ? null : `Seed ${payload.seed}`,
    payload.timings.inferenceSeconds === null ? null : `inference ${payload.timings.inferenceSeconds.toFixed(2)} s`,
    `total ${(payload.timings.totalMs / 1000).toFixed(2)} s`,
    payload.provider === "SIMULATOR" ? "made by the built-in simulator, not SiliconFlow" : null,
  ].filter(Boolean);
  ui.resultsSummary.textContent = `${payload.images.length} image${payload.images.length === 1 ? "" : "s"} from ${payload.model}: ${timings.join(" · ")}.`;
  const stem = payload.model.split("/").pop() ?? "image";
  ui.results.replaceChildren(
    ...payload.images.map((image) => {
      const extension = image.mimeType.split("/")[1] ?? "png";
      return el(
        "li",
        { class: "result" },
        el(
          "a",
          { href: image.url, class: "result__link", target: "_blank", rel: "noopener" },
          el("img", {
            src: image.url,
            alt: `Result ${image.index + 1} of ${payload.images.length} for “${excerpt(prompt, 60)}”`,
            width: image.width,
            height: image.height,
            class: "result__img",
          }),
        ),
        el(
          "div",
          { class: "result__meta" },
          el("span", {}, `${image.width} × ${image.height}`),
          el("span", {}, `${extension.toUpperCase()} · ${formatBytes(image.bytes)}`),
          payload.seed === null ? null : el("span", {}, `Seed ${payload.seed}`),
        ),
        el(
          "a",
          { href: image.url, download: `${stem}-${payload.seed ?? "random"}-${image.index + 1}.${extension}`, class: "button button--small" },
          "Download",
          el("span", { class: "visually-hidden" }, ` image ${image.index + 1}`),
        ),
      );
    }),
  );
}

function renderHistory(): void {
  const entries = history.list();
  if (entries.length === 0) {
    ui.history.replaceChildren(el("li", { class: "history__empty" }, "No calls yet."));
    ui.clearHistory.disabled = true;
    return;
  }
  ui.clearHistory.disabled = false;
  const statusWords: Record<HistoryEntry["status"], string> = { success: "Done", failed: "Failed", cancelled: "Cancelled" };
  ui.history.replaceChildren(
    ...entries.map((entry) => {
      const at = new Date(entry.at);
      const thumbnails = entry.thumbnails.slice(0, 4).map((url, i) => {
        const img = el("img", { src: url, alt: `Output ${i + 1}`, width: 48, height: 48, loading: "lazy", class: "history__thumb" });
        // The gateway may have cleaned an old image away: drop the broken picture rather than show it.
        img.addEventListener("error", () => img.remove());
        return el("a", { href: url, target: "_blank", rel: "noopener" }, img);
      });
      return el(
        "li",
        { class: `history__entry history__entry--${entry.status}` },
        el(
          "div",
          { class: "history__line" },
          el("time", { datetime: entry.at }, at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" })),
          el("span", { class: "history__model" }, entry.model.split("/").pop() ?? entry.model),
          el("span", { class: `badge badge--${entry.status}` }, statusWords[entry.status], entry.code ? ` · ${entry.code}` : ""),
        ),
        el("q", { class: "history__prompt" }, entry.prompt),
        thumbnails.length > 0 ? el("div", { class: "history__thumbs" }, ...thumbnails) : null,
      );
    }),
  );
}

async function onSubmit(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  if (state.running) return;
  clearError();
  const model = state.current;
  if (!model && state.modelsNeedToken) {
    // Enter in the token field lands here: try the token on the model list at once.
    window.clearTimeout(state.tokenSettle);
    const problem = tokenProblem();
    if (problem) {
      showError({ code: "FORM", headline: problem.message });
      markInvalid(problem.element, true);
    } else {
      await loadModels();
    }
    return;
  }
  if (!model) {
    showError({ code: "FORM", headline: "Choose a model first." }, true);
    return;
  }
  const input = readForm(model, state.picked);
  if (isProblem(input)) {
    showError({ code: "FORM", headline: input.message });
    markInvalid(input.element, true);
    return;
  }

  const controller = new AbortController();
  const started = performance.now();
  const fileNames = state.picked.map((image) => image.file.name);
  const tokenSent = accessToken() !== "";
  const tick = (): void => {
    ui.elapsed.textContent = `${Math.floor((performance.now() - started) / 1000)} s`;
  };
  tick();
  state.running = { controller, timer: window.setInterval(tick, 1000) };
  setBusy(true, state.models.length > 0);
  setStatus(`Generating with ${model.displayName}. This can take a minute.`, true);
  // Not crypto.randomUUID(): it exists only in secure contexts, and the gateway is often reached over plain http.
  const entry: HistoryEntry = {
    id: `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`,
    at: new Date().toISOString(),
    model: model.id,
    prompt: input.prompt,
    status: "success",
    thumbnails: [],
  };

  try {
    const payload = await generateImages(client, input, controller.signal);
    renderResults(payload, input.prompt);
    Object.assign(entry, { thumbnails: payload.images.map((image) => image.url), seed: payload.seed, totalMs: payload.timings.totalMs });
    setStatus(`Done: ${payload.images.length} image${payload.images.length === 1 ? "" : "s"} in ${(payload.timings.totalMs / 1000).toFixed(1)} s.`, false);
  } catch (error) {
    const shown = controller.signal.aborted ? { code: "CANCELLED", headline: ERROR_SENTENCES.CANCELLED } : describeError(error, { fileNames, tokenSent });
    entry.status = shown.code === "CANCELLED" ? "cancelled" : "failed";
    if (entry.status === "failed") entry.code = shown.code;
    setStatus(entry.status === "cancelled" ? "Cancelled." : "The call failed.", false);
    showError(shown);
    const target = errorElement(shown);
    // The headline sends the reader to Access token, so the keyboard goes there too; other refusals are read first.
    if (target) markInvalid(target, shown.code === "UNAUTHENTICATED");
  } finally {
    window.clearInterval(state.running.timer);
    state.running = undefined;
    ui.elapsed.textContent = "";
    setBusy(false, state.models.length > 0);
    history.add(entry);
    renderHistory();
  }
}

ui.fileInput.accept = ACCEPT_ATTRIBUTE;
ui.model.addEventListener("change", () => {
  clearError();
  applyModel(state.models.find((model) => model.id === ui.model.value));
});
ui.dropzone.addEventListener("click", () => ui.fileInput.click());
ui.fileInput.addEventListener("change", () => {
  addFiles(Array.from(ui.fileInput.files ?? []));
  // Let the same file be picked again after it was removed.
  ui.fileInput.value = "";
});
ui.dropzone.addEventListener("dragenter", (event) => {
  event.preventDefault();
  ui.dropzone.classList.add("is-over");
});
ui.dropzone.addEventListener("dragover", (event) => {
  event.preventDefault();
  if (event.dataTransfer) event.dataTransfer.dropEffect = state.running ? "none" : "copy";
});
ui.dropzone.addEventListener("dragleave", () => ui.dropzone.classList.remove("is-over"));
ui.dropzone.addEventListener("drop", (event) => {
  event.preventDefault();
  ui.dropzone.classList.remove("is-over");
  if (!state.running) addFiles(Array.from(event.dataTransfer?.files ?? []));
});
// A file dropped beside the zone would otherwise make the browser leave the page and lose the form.
for (const type of ["dragover", "drop"] as const) {
  window.addEventListener(type, (event) => {
    if (!ui.dropzone.contains(event.target as Node | null)) event.preventDefault();
  });
}
ui.form.addEventListener("submit", (event) => void onSubmit(event));
ui.cancel.addEventListener("click", () => state.running?.controller.abort());
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && state.running) state.running.controller.abort();
});
ui.clearHistory.addEventListener("click", () => {
  history.clear();
  renderHistory();
});
ui.token.addEventListener("input", () => {
  tokens.write(ui.token.value.trim());
  retryModelsAfter(TOKEN_SETTLE_MS);
});
ui.token.addEventListener("change", () => retryModelsAfter(0));

ui.token.value = tokens.read();
renderHistory();
void loadModels();
