import type { ApolloClient } from "@apollo/client";
import { generateImages, type GenerateImagesInput, type ImageModel } from "./api.js";
import { ui } from "./elements.js";
import { markInvalid, showError } from "./error-panel.js";
import { describeError, ERROR_SENTENCES } from "./errors.js";
import { accessToken, errorElement } from "./form.js";
import type { CallHistory, HistoryEntry } from "./history.js";
import { renderHistory } from "./history-list.js";
import { renderResults } from "./results.js";
import type { PageState } from "./state.js";
import { setBusy, setStatus } from "./status.js";

/** Sends one checked input, keeps the form busy while it runs, and shows and records how it ended. */
export async function generate(state: PageState, client: ApolloClient, history: CallHistory, model: ImageModel, input: GenerateImagesInput): Promise<void> {
  const controller = new AbortController();
  const started = performance.now();
  const fileNames = state.picked.map((image) => image.file.name);
  const tokenSent = accessToken() !== "";
  const tick = (): void => {
    ui.elapsed.textContent = `${Math.floor((performance.now() - started) / 1000)} s`;
  };
  tick();
  const running = { controller, timer: window.setInterval(tick, 1000) };
  state.running = running;
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
    window.clearInterval(running.timer);
    state.running = undefined;
    ui.elapsed.textContent = "";
    setBusy(false, state.models.length > 0);
    history.add(entry);
    renderHistory(history);
  }
}

/** Stops waiting for the call in flight, if there is one; generate then shows it as cancelled. */
export function cancelGeneration(state: PageState): void {
  state.running?.controller.abort();
}
