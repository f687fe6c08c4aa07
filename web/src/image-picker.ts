import { el } from "./dom.js";
import { ui } from "./elements.js";
import { fileProblem, formatBytes } from "./files.js";
import type { PageState } from "./state.js";

function renderProblems(problems: readonly string[]): void {
  ui.imagesProblems.replaceChildren(...problems.map((problem) => el("p", { class: "field-problem" }, problem)));
}

/** The chosen images in sending order; those over the current model's limit are marked, not dropped. */
export function renderPreviews(state: PageState): void {
  const max = state.current?.maxInputImages ?? 0;
  ui.previews.replaceChildren(
    ...state.picked.map((image, index) => {
      const remove = el("button", { type: "button", class: "button button--small", "aria-label": `Remove ${image.file.name}` }, "Remove");
      remove.addEventListener("click", () => removeImage(state, index));
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

/** Adds the files that may go, up to the model's limit, and says why each other one was left out. */
export function addFiles(state: PageState, files: Iterable<File>): void {
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
  renderPreviews(state);
}

function removeImage(state: PageState, index: number): void {
  const [gone] = state.picked.splice(index, 1);
  if (gone) URL.revokeObjectURL(gone.url);
  renderProblems([]);
  renderPreviews(state);
  // Keep the keyboard where it was: on the next Remove button, or back on the drop zone.
  const buttons = ui.previews.querySelectorAll("button");
  (buttons[Math.min(index, buttons.length - 1)] ?? ui.dropzone).focus();
}
