import "./styles.css";
import { createClient, generateImages } from "./api.js";
import { ui } from "./elements.js";
import { clearError, markInvalid, showError } from "./error-panel.js";
import { describeError, ERROR_SENTENCES } from "./errors.js";
import { accessToken, errorElement, isProblem, readForm, tokenProblem } from "./form.js";
import { ACCEPT_ATTRIBUTE } from "./files.js";
import { addFiles } from "./image-picker.js";
import { browserStorage, CallHistory, type HistoryEntry } from "./history.js";
import { renderHistory } from "./history-list.js";
import { chooseModel, loadModels, retryModelsAfter } from "./models.js";
import { renderResults } from "./results.js";
import { createPageState } from "./state.js";
import { setBusy, setStatus } from "./status.js";
import { tabStorage, TokenStore } from "./token.js";

/** Pause in typing before a token is tried on the model list, so a half-typed one is not sent per keystroke. */
const TOKEN_SETTLE_MS = 600;

const client = createClient("/graphql", accessToken);
const history = new CallHistory(browserStorage());
const tokens = new TokenStore(tabStorage());
const state = createPageState();

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
    renderHistory(history);
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
  renderHistory(history);
});
ui.token.addEventListener("input", () => {
  tokens.write(ui.token.value.trim());
  retryModelsAfter(state, client, TOKEN_SETTLE_MS);
});
ui.token.addEventListener("change", () => retryModelsAfter(state, client, 0));

ui.token.value = tokens.read();
renderHistory(history);
void loadModels(state, client);
