import "./styles.css";
import { createClient, generateImages, type GenerateImagesPayload } from "./api.js";
import { el } from "./dom.js";
import { ui } from "./elements.js";
import { clearError, markInvalid, showError } from "./error-panel.js";
import { describeError, ERROR_SENTENCES } from "./errors.js";
import { accessToken, errorElement, isProblem, readForm, tokenProblem } from "./form.js";
import { ACCEPT_ATTRIBUTE, formatBytes } from "./files.js";
import { addFiles } from "./image-picker.js";
import { browserStorage, CallHistory, excerpt, type HistoryEntry } from "./history.js";
import { chooseModel, loadModels, retryModelsAfter } from "./models.js";
import { createPageState } from "./state.js";
import { setBusy, setStatus } from "./status.js";
import { tabStorage, TokenStore } from "./token.js";

/** Pause in typing before a token is tried on the model list, so a half-typed one is not sent per keystroke. */
const TOKEN_SETTLE_MS = 600;

const client = createClient("/graphql", accessToken);
const history = new CallHistory(browserStorage());
const tokens = new TokenStore(tabStorage());
const state = createPageState();

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
      await loadModels(state, client);
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
  chooseModel(state, state.models.find((model) => model.id === ui.model.value));
});
ui.dropzone.addEventListener("click", () => ui.fileInput.click());
ui.fileInput.addEventListener("change", () => {
  addFiles(state, Array.from(ui.fileInput.files ?? []));
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
  if (!state.running) addFiles(state, Array.from(event.dataTransfer?.files ?? []));
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
  retryModelsAfter(state, client, TOKEN_SETTLE_MS);
});
ui.token.addEventListener("change", () => retryModelsAfter(state, client, 0));

ui.token.value = tokens.read();
renderHistory();
void loadModels(state, client);
