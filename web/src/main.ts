import "./styles.css";
import { createClient } from "./api.js";
import { ui } from "./elements.js";
import { clearError } from "./error-panel.js";
import { ACCEPT_ATTRIBUTE } from "./files.js";
import { accessToken } from "./form.js";
import { cancelGeneration, resumePendingJob, type JobSession } from "./generation.js";
import { browserStorage, CallHistory } from "./history.js";
import { renderHistory } from "./history-list.js";
import { addFiles } from "./image-picker.js";
import { chooseModel, loadModels, retryModelsAfter } from "./models.js";
import { PendingJobStore } from "./pending-job.js";
import { createPageState } from "./state.js";
import { submit } from "./submit.js";
import { tabStorage, TokenStore } from "./token.js";

/** Pause in typing before a token is tried on the model list, so a half-typed one is not sent per keystroke. */
const TOKEN_SETTLE_MS = 600;

const client = createClient("/graphql", accessToken);
const history = new CallHistory(browserStorage());
const tokens = new TokenStore(tabStorage());
const state = createPageState();
const session: JobSession = { client, history, pending: new PendingJobStore(browserStorage()) };

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
ui.form.addEventListener("submit", (event) => {
  event.preventDefault();
  void submit(state, session);
});
ui.cancel.addEventListener("click", () => void cancelGeneration(state, session));
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape") void cancelGeneration(state, session);
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
resumePendingJob(state, session);
