import type { GenerateImagesPayload } from "./api.js";
import { el } from "./dom.js";
import { ui } from "./elements.js";
import { formatBytes } from "./files.js";
import { excerpt } from "./history.js";

/** The call's images, each with its size, format and a download named after the model and seed. */
export function renderResults(payload: GenerateImagesPayload, prompt: string): void {
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
