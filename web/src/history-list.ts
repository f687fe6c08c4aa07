import { el } from "./dom.js";
import { ui } from "./elements.js";
import type { CallHistory, HistoryEntry } from "./history.js";

/** The recent calls, newest first, with up to four thumbnails each. */
export function renderHistory(history: CallHistory): void {
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
