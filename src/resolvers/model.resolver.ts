import { Arg, ID, Query, Resolver } from "type-graphql";
import { ImageModel } from "../schema/model.type.js";
import { MAX_SEED } from "../models/generation-rules.js";
import type { ImageModelInfo, ModelRegistry } from "../models/model-registry.js";

export function toImageModel(model: ImageModelInfo): ImageModel {
  return {
    ...model,
    imageSizes: [...model.imageSizes],
    guidanceRange: model.guidanceRange ? { ...model.guidanceRange } : null,
    steps: { ...model.steps },
    seedRange: model.acceptsSeed ? { min: 0, max: MAX_SEED, default: null } : null,
  };
}

@Resolver(() => ImageModel)
export class ModelResolver {
  constructor(private readonly registry: ModelRegistry) {}

  @Query(() => [ImageModel], { description: "Every model the gateway knows, with its capabilities." })
  models(): ImageModel[] {
    return this.registry.list().map(toImageModel);
  }

  @Query(() => ImageModel, { nullable: true })
  model(@Arg("id", () => ID) id: string): ImageModel | null {
    const found = this.registry.get(id);
    return found ? toImageModel(found) : null;
  }
}
