import { el } from "./dom.js";
import { ui } from "./elements.js";
import type { ShownError } from "./errors.js";

/** Empties the alert and takes the marks off the fields it was about. */
export function clearError(): void {
  ui.error.hidden = true;
  ui.error.replaceChildren();
  for (const element of ui.form.querySelectorAll("[aria-invalid]")) element.removeAttribute("aria-invalid");
}

export function showError(shown: ShownError, focus = false): void {
  const details: Node[] = [el("p", { class: "error__headline" }, shown.headline)];
  if (shown.serverMessage && shown.serverMessage !== shown.headline) {
    details.push(el("p", { class: "error__message" }, "The gateway said: ", el("q", {}, shown.serverMessage)));
  }
  const facts = [`Code ${shown.code}`, shown.field ? `field ${shown.field}` : null].filter(Boolean).join(" · ");
  details.push(el("p", { class: "error__code" }, facts));
  ui.error.replaceChildren(...details);
  ui.error.hidden = false;
  if (focus) ui.error.focus();
  else ui.error.scrollIntoView({ block: "nearest" });
}

/** Marks the field to fix; the mark stays until the next clearError. */
export function markInvalid(element: HTMLElement, focus: boolean): void {
  element.setAttribute("aria-invalid", "true");
  if (focus) element.focus();
}
