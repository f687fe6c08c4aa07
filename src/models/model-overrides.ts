import { z } from "zod";
import { GuidanceParameter, MAX_UPSTREAM_INPUT_IMAGES, ModelKind } from "./model-capabilities.js";

// What a `models` entry of the configuration file may say, checked before it is merged (model-merge.ts).

/** `WxH`, as SiliconFlow spells image_size. */
export const IMAGE_SIZE_PATTERN = /^[1-9]\d{0,4}x[1-9]\d{0,4}$/;

/** Ranges merge key by key, so `steps: { max: 50 }` narrows a built-in without restating the rest. */
const numberRangeOverrideSchema = z.strictObject({
  min: z.number().optional(),
  max: z.number().optional(),
  default: z.number().nullable().optional(),
});

/**
 * One model entry of the configuration file. Only `id` is required: an entry whose id is a built-in
 * model overrides the keys it names; any other id adds a model on top of conservative defaults.
 * Unknown keys are refused so a typo (`maxBatchsize`) is reported rather than silently ignored.
 * Coherence across keys (min <= max, default size among sizes) is checked by resolveModelEntry.
 */
export const modelCapabilitiesOverrideSchema = z.strictObject({
  id: z.string().trim().min(1, "must not be empty"),
  displayName: z.string().trim().min(1, "must not be empty").optional(),
  kind: z.enum(ModelKind).optional(),
  minInputImages: z.number().int().min(0).optional(),
  maxInputImages: z.number().int().min(0).max(MAX_UPSTREAM_INPUT_IMAGES).optional(),
  imageSizes: z
    .array(z.string().regex(IMAGE_SIZE_PATTERN, 'must look like "1024x1024"'))
    .refine((sizes) => new Set(sizes).size === sizes.length, "must not repeat a size")
    .optional(),
  defaultImageSize: z.string().nullable().optional(),
  maxBatchSize: z.number().int().min(1).optional(),
  guidance: z.enum(GuidanceParameter).optional(),
  guidanceRange: numberRangeOverrideSchema.nullable().optional(),
  steps: numberRangeOverrideSchema.optional(),
  negativePrompt: z.boolean().optional(),
  acceptsSeed: z.boolean().optional(),
});

export type ModelCapabilitiesOverride = z.infer<typeof modelCapabilitiesOverrideSchema>;

/**
 * Checks one configuration entry against modelCapabilitiesOverrideSchema (entries arrive as parsed
 * YAML/JSON, so typed as unknown), throwing an Error that names the model id and the first bad key.
 */
export function parseModelEntry(entry: unknown): ModelCapabilitiesOverride {
  const parsed = modelCapabilitiesOverrideSchema.safeParse(entry);
  if (parsed.success) return parsed.data;
  const rawId = (entry as { id?: unknown } | null | undefined)?.id;
  const label = typeof rawId === "string" && rawId.trim() !== "" ? `model "${rawId.trim()}"` : "model entry";
  const issue = parsed.error.issues[0];
  const key = issue!.code === "unrecognized_keys" ? issue.keys.join(", ") : formatPath(issue!.path) || "(entry)";
  const message = issue!.code === "unrecognized_keys" ? "unknown key" : issue!.message;
  throw new Error(`${label}: ${key}: ${message}`);
}

function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((part, index) => (typeof part === "number" ? `[${part}]` : `${index === 0 ? "" : "."}${String(part)}`))
    .join("");
}
