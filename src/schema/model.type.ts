import { Field, Float, ID, Int, ObjectType, registerEnumType } from "type-graphql";

export enum ModelKind {
  TEXT_TO_IMAGE = "TEXT_TO_IMAGE",
  IMAGE_EDIT = "IMAGE_EDIT",
}
registerEnumType(ModelKind, { name: "ModelKind" });

export enum GuidanceParameter {
  GUIDANCE_SCALE = "GUIDANCE_SCALE",
  CFG = "CFG",
  NONE = "NONE",
}
registerEnumType(GuidanceParameter, {
  name: "GuidanceParameter",
  description: "Which guidance input a model takes: `guidanceScale`, `cfg`, or neither.",
});

export enum ModelSource {
  BUILTIN = "BUILTIN",
  CONFIG = "CONFIG",
  UPSTREAM = "UPSTREAM",
}
registerEnumType(ModelSource, {
  name: "ModelSource",
  description: "Where the gateway learnt of the model: built in, the configuration file, or only SiliconFlow's model list.",
});

@ObjectType({ description: "An inclusive range with the default SiliconFlow applies when the value is not given." })
export class NumberRange {
  @Field(() => Float)
  min!: number;

  @Field(() => Float)
  max!: number;

  @Field(() => Float, { nullable: true })
  default?: number | null;
}

@ObjectType({ description: "An image model and what it accepts: the gateway refuses, before any billed call, what it does not." })
export class ImageModel {
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
  defaultImageSize?: string | null;

  @Field(() => Int)
  maxBatchSize!: number;

  @Field(() => GuidanceParameter)
  guidance!: GuidanceParameter;

  @Field(() => NumberRange, { nullable: true, description: "Range of the guidance parameter; null when `guidance` is NONE." })
  guidanceRange?: NumberRange | null;

  @Field(() => NumberRange, { description: "Range of `numInferenceSteps`." })
  steps!: NumberRange;

  @Field({ description: "Whether `negativePrompt` applies." })
  negativePrompt!: boolean;

  @Field()
  acceptsSeed!: boolean;

  @Field({ description: "Whether the configured SiliconFlow key may call it." })
  available!: boolean;

  @Field(() => ModelSource)
  source!: ModelSource;
}
