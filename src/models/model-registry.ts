import { conservativeCapabilities, deepFreeze, type ModelCapabilities, type ModelKind } from "./model-capabilities.js";
import { BUILTIN_MODELS } from "./model-catalogue.js";
import { resolveModelEntry } from "./model-merge.js";
import { parseModelEntry } from "./model-overrides.js";

/** Where the gateway learnt of a model. */
export const ModelSource = { BUILTIN: "BUILTIN", CONFIG: "CONFIG", UPSTREAM: "UPSTREAM" } as const;
export type ModelSource = (typeof ModelSource)[keyof typeof ModelSource];

/**
 * `source` says where the model entry comes from: BUILTIN (the catalogue, possibly overridden by
 * configuration), CONFIG (added by configuration), UPSTREAM (seen only in SiliconFlow's model list).
 */
export type ImageModelInfo = ModelCapabilities & { available: boolean; source: ModelSource };

export interface ModelRegistryOptions {
  builtIn?: readonly ModelCapabilities[];
  /** Configuration entries (see modelCapabilitiesOverrideSchema), checked here: parsed YAML/JSON is fine. */
  configured?: readonly unknown[];
  /** Receives an exception thrown by an onChange listener; the registry itself carries on. */
  onListenerError?: (error: unknown) => void;
}

/**
 * The effective model catalogue: built-in capabilities, overridden or extended by configuration, with
 * availability from SiliconFlow's model list for the configured key. Every read sees one consistent,
 * frozen snapshot; every write either applies whole or throws and changes nothing.
 */
export class ModelRegistry {
  private readonly builtIn: readonly ModelCapabilities[];
  private readonly builtInIds: ReadonlySet<string>;
  private configured: ReadonlyMap<string, ModelCapabilities>;
  /** Null until a list has been applied: until then nothing is known to be unavailable. */
  private upstreamIds: ReadonlySet<string> | null = null;
  /** Listed upstream ids in first-seen order, so the list does not reshuffle when upstream does. */
  private discoveredOrder: readonly string[] = [];
  private snapshot: readonly ImageModelInfo[] = [];
  private byId: ReadonlyMap<string, ImageModelInfo> = new Map();
  private snapshotKey = "";
  private currentVersion = 0;
  private readonly listeners = new Set<(version: number) => void>();
  private readonly onListenerError: (error: unknown) => void;

  constructor({ builtIn = BUILTIN_MODELS, configured = [], onListenerError }: ModelRegistryOptions = {}) {
    const ids = new Set<string>();
    this.builtIn = builtIn.map((model) => {
      if (ids.has(model.id)) throw new Error(`model "${model.id}": id: listed twice among the built-in models`);
      ids.add(model.id);
      // Re-resolving a built-in onto itself checks its coherence and yields a frozen copy.
      return resolveModelEntry({ id: model.id }, model);
    });
    this.builtInIds = ids;
    this.configured = this.resolveConfigured(configured);
    // Swallowing by default: a buggy listener must not turn a successful update into a thrown error.
    this.onListenerError = onListenerError ?? (() => undefined);
    this.rebuild(false);
  }

  /** Increases by one whenever the effective list (any field of any model) changes. */
  get version(): number {
    return this.currentVersion;
  }

  /** Calls listener(version) after each change; returns the function that unsubscribes. */
  onChange(listener: (version: number) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Built-ins in catalogue order, then configuration additions, then upstream discoveries. */
  list(): ImageModelInfo[] {
    return [...this.snapshot];
  }

  get(id: string): ImageModelInfo | undefined {
    return this.byId.get(id);
  }

  /** Replaces every configuration entry at once; a bad entry throws and leaves the registry as it was. */
  setConfigured(entries: readonly unknown[]): void {
    const configured = this.resolveConfigured(entries);
    this.configured = configured;
    this.rebuild(true);
  }

  /**
   * Applies the ids the API key may call. Known models missing from the list become unavailable;
   * unknown ids are added with conservative capabilities. Ids that were only discovered upstream and
   * are no longer listed are dropped, since nothing else vouches for them.
   */
  applyUpstreamList(ids: readonly string[]): void {
    // Checked at run time too: the list comes from SiliconFlow's JSON.
    const given: unknown = ids;
    if (!Array.isArray(given) || given.some((id) => typeof id !== "string")) {
      throw new TypeError("the upstream model list must be an array of strings");
    }
    const listed = new Set(ids.filter((id) => id !== ""));
    const kept = this.discoveredOrder.filter((id) => listed.has(id));
    const keptSet = new Set(kept);
    // Described ids are remembered too, so removing their configuration later reveals them as UPSTREAM.
    const added = [...listed].filter((id) => !keptSet.has(id));
    this.upstreamIds = listed;
    this.discoveredOrder = [...kept, ...added];
    this.rebuild(true);
  }

  private isDescribed(id: string): boolean {
    return this.builtInIds.has(id) || this.configured.has(id);
  }

  private resolveConfigured(entries: readonly unknown[]): Map<string, ModelCapabilities> {
    if (!Array.isArray(entries)) throw new TypeError("configured models must be an array");
    const builtInById = new Map(this.builtIn.map((model) => [model.id, model]));
    const resolved = new Map<string, ModelCapabilities>();
    for (const raw of entries) {
      // Parsed first so the built-in is looked up by the normalised (trimmed) id.
      const entry = parseModelEntry(raw);
      const model = resolveModelEntry(entry, builtInById.get(entry.id));
      if (resolved.has(model.id)) throw new Error(`model "${model.id}": id: configured more than once`);
      resolved.set(model.id, model);
    }
    return resolved;
  }

  private rebuild(notify: boolean): void {
    const available = (id: string): boolean => this.upstreamIds === null || this.upstreamIds.has(id);
    const next: ImageModelInfo[] = [];
    for (const model of this.builtIn) {
      const effective = this.configured.get(model.id) ?? model;
      next.push({ ...effective, available: available(model.id), source: "BUILTIN" });
    }
    for (const [id, model] of this.configured) {
      if (!this.builtInIds.has(id)) next.push({ ...model, available: available(id), source: "CONFIG" });
    }
    for (const id of this.discoveredOrder) {
      if (this.isDescribed(id)) continue;
      next.push({ ...conservativeCapabilities(id, guessKind(id)), available: true, source: "UPSTREAM" });
    }
    const key = JSON.stringify(next);
    if (key === this.snapshotKey) return;
    this.snapshot = deepFreeze(next);
    this.byId = new Map(next.map((model) => [model.id, model]));
    this.snapshotKey = key;
    if (!notify) return;
    this.currentVersion += 1;
    for (const listener of [...this.listeners]) {
      try {
        listener(this.currentVersion);
      } catch (error) {
        reportSafely(this.onListenerError, error);
      }
    }
  }
}

/** SiliconFlow's ids name their edit models "...-Edit..."; nothing else hints at the kind. */
function guessKind(id: string): ModelKind {
  return id.toLowerCase().includes("edit") ? "IMAGE_EDIT" : "TEXT_TO_IMAGE";
}

function reportSafely(report: (error: unknown) => void, error: unknown): void {
  try {
    report(error);
  } catch {
    // An error reporter that fails has nowhere left to report to; the registry must stay usable.
  }
}
