/** The last calls made from this browser, kept in localStorage so a reload does not lose them. */
export interface HistoryEntry {
  id: string;
  /** ISO 8601, when the call was sent. */
  at: string;
  model: string;
  prompt: string;
  status: "success" | "failed" | "cancelled";
  /** `extensions.code` of a failure. */
  code?: string;
  /** Gateway URLs of the outputs: the gateway keeps them by content hash, so they stay valid. */
  thumbnails: string[];
  seed?: number | null;
  totalMs?: number;
}

const STORAGE_KEY = "siliconflow-gateway.calls.v1";
export const HISTORY_LIMIT = 10;
const PROMPT_EXCERPT = 80;

export function excerpt(text: string, length = PROMPT_EXCERPT): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length <= length ? flat : `${flat.slice(0, length - 1)}…`;
}

function isEntry(value: unknown): value is HistoryEntry {
  if (typeof value !== "object" || value === null) return false;
  const entry = value as Partial<HistoryEntry>;
  return (
    typeof entry.id === "string" &&
    typeof entry.at === "string" &&
    typeof entry.model === "string" &&
    typeof entry.prompt === "string" &&
    (entry.status === "success" || entry.status === "failed" || entry.status === "cancelled") &&
    Array.isArray(entry.thumbnails) &&
    entry.thumbnails.every((url) => typeof url === "string")
  );
}

export class CallHistory {
  private entries: HistoryEntry[];

  constructor(private readonly storage: Storage | null) {
    this.entries = this.read();
  }

  list(): readonly HistoryEntry[] {
    return this.entries;
  }

  add(entry: HistoryEntry): void {
    this.entries = [{ ...entry, prompt: excerpt(entry.prompt) }, ...this.entries].slice(0, HISTORY_LIMIT);
    this.write();
  }

  clear(): void {
    this.entries = [];
    this.write();
  }

  private read(): HistoryEntry[] {
    try {
      const parsed: unknown = JSON.parse(this.storage?.getItem(STORAGE_KEY) ?? "[]");
      // Anything another version of the page (or a hand edit) left that does not fit is dropped, not trusted.
      return Array.isArray(parsed) ? parsed.filter(isEntry).slice(0, HISTORY_LIMIT) : [];
    } catch {
      return [];
    }
  }

  private write(): void {
    try {
      this.storage?.setItem(STORAGE_KEY, JSON.stringify(this.entries));
    } catch {
      // Storage full or disabled (private mode): the list still works for this page's life.
    }
  }
}

/** localStorage itself can throw on access when the browser blocks storage. */
export function browserStorage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}
