import type { ApolloClient } from "@apollo/client";
import { fetchModels, type ImageModel } from "./api.js";
import { el } from "./dom.js";
import { ui } from "./elements.js";
import { clearError, markInvalid, showError } from "./error-panel.js";
import { describeError } from "./errors.js";
import { accessToken } from "./form.js";
import { renderPreviews } from "./image-picker.js";
import { showModelFields } from "./model-form.js";
import type { PageState } from "./state.js";
import { setStatus } from "./status.js";

/** Makes the form follow the model: its fields, and the marks on images over its limit. */
export function chooseModel(state: PageState, model: ImageModel | undefined): void {
  state.current = model;
  showModelFields(model);
  if (model) renderPreviews(state);
}

function renderModels(state: PageState, list: readonly ImageModel[]): void {
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
  chooseModel(state, first);
}

export async function loadModels(state: PageState, client: ApolloClient): Promise<void> {
  const request = ++state.modelsRequest;
  const tokenSent = accessToken() !== "";
  setStatus("Loading models…", true);
  try {
    const list = await fetchModels(client);
    if (request !== state.modelsRequest) return;
    state.modelsNeedToken = false;
    state.models = list;
    clearError();
    renderModels(state, state.models);
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
export function retryModelsAfter(state: PageState, client: ApolloClient, delay: number): void {
  window.clearTimeout(state.tokenSettle);
  if (!state.modelsNeedToken || accessToken() === "") return;
  state.tokenSettle = window.setTimeout(() => void loadModels(state, client), delay);
}
