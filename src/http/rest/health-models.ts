import type { ModelRegistry } from "../../models/model-registry.js";

/** One model as `GET /health` lists it, in the REST face's snake_case. */
export interface HealthModel {
  id: string;
  name: string;
  kind: string;
  min_input_images: number;
  max_input_images: number;
  image_sizes: string[];
  default_image_size: string | null;
  max_batch_size: number;
  guidance: string;
}

export const healthModelSchema = {
  type: "object",
  required: ["id", "name", "kind", "min_input_images", "max_input_images", "image_sizes", "default_image_size", "max_batch_size", "guidance"],
  properties: {
    id: { type: "string", description: "The id to send as `model`." },
    name: { type: "string" },
    kind: { type: "string", description: "`TEXT_TO_IMAGE`, or `IMAGE_EDIT` (takes images)." },
    min_input_images: { type: "integer" },
    max_input_images: { type: "integer" },
    image_sizes: { type: "array", items: { type: "string" }, description: "The `image_size` values it takes; empty when it takes none." },
    default_image_size: { type: ["string", "null"] },
    max_batch_size: { type: "integer" },
    guidance: { type: "string", description: "`GUIDANCE_SCALE`, `CFG` (the field it takes) or `NONE`." },
  },
} as const;

/**
 * The models `GET /health` lists: those the registry holds as available, from its last model list (the
 * background refresh keeps it), never from a call made for the probe. Mapped once per registry version,
 * since orchestrators poll the probe far more often than the list changes.
 */
export class HealthModels {
  private cached: { version: number; models: readonly HealthModel[] } | undefined;

  constructor(private readonly registry: Pick<ModelRegistry, "list" | "version">) {}

  list(): readonly HealthModel[] {
    const version = this.registry.version;
    if (this.cached?.version !== version) {
      const models = this.registry
        .list()
        .filter((model) => model.available)
        .map((model) => ({
          id: model.id,
          name: model.displayName,
          kind: model.kind,
          min_input_images: model.minInputImages,
          max_input_images: model.maxInputImages,
          image_sizes: [...model.imageSizes],
          default_image_size: model.defaultImageSize,
          max_batch_size: model.maxBatchSize,
          guidance: model.guidance,
        }));
      this.cached = { version, models };
    }
    return this.cached.models;
  }
}
