import { ui } from "./elements.js";

/** The status line under the form; `busy` shows its spinner. */
export function setStatus(text: string, busy: boolean): void {
  ui.statusText.textContent = text;
  ui.status.classList.toggle("is-busy", busy);
}

/** While a call runs, the form can neither start another nor change its model or images. */
export function setBusy(busy: boolean, hasModels: boolean): void {
  ui.form.setAttribute("aria-busy", String(busy));
  ui.submit.disabled = busy;
  ui.model.disabled = busy || !hasModels;
  ui.dropzone.disabled = busy;
  ui.cancel.hidden = !busy;
  ui.submit.textContent = busy ? "Generating…" : "Generate";
}
