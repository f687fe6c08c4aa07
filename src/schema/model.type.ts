import { Field, Float, ID, Int, ObjectType } from "type-graphql";
import type * as models from "../models/model-capabilities.js";
import { GuidanceParameter, ModelKind, ModelSource } from "./enums.js";

// The GraphQL views implement the domain's own shapes: one definition of each, which the compiler holds
// these classes to.

@ObjectType({ description: "An inclusive range with the default SiliconFlow applies when the value is not given." })
export class NumberRange implements models.NumberRange {
  @Field(() => Float)
  min!: number;

  @Field(() => Float)
  max!: number;

  @Field(() => Float, { nullable: true })
  default!: number | null;
}

@ObjectType({ description: "An image model and what it accepts: the gateway refuses, before any billed call, what it does not." })
export class ImageModel implements models.ModelCapabilities {
  @Field(() => ID)
  id!: string;

  @Field()
  displayName!: string;

  @Field(() => ModelKind)
  kind!: ModelKind;

  @Field(() => Int)
  minInputImages!: number;

  @Field(() => Int)
  maxInputImages!: number;

  @Field(() => [String], { description: "Accepted `imageSize` values; empty when the model takes no size." })
  imageSizes!: string[];

  @Field(() => String, { nullable: true })
  defaultImageSize!: string | null;

  @Field(() => Int)
  maxBatchSize!: number;

  @Field(() => GuidanceParameter)
  guidance!: GuidanceParameter;

  @Field(() => NumberRange, { nullable: true, description: "Range of the guidance parameter; null when `guidance` is NONE." })
  guidanceRange!: NumberRange | null;

  @Field(() => NumberRange, { description: "Range of `numInferenceSteps`." })
  steps!: NumberRange;

  @Field({ description: "Whether `negativePrompt` applies." })
  negativePrompt!: boolean;

  @Field()
  acceptsSeed!: boolean;

  @Field(() => NumberRange, { nullable: true, description: "Range of `seed`; null when the model takes none." })
  seedRange?: NumberRange | null;

  @Field({ description: "Whether the configured SiliconFlow key may call it." })
  available!: boolean;

  @Field(() => ModelSource)
  source!: ModelSource;
}
