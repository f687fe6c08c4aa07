import { Field, Float, ID, Int, ObjectType } from "type-graphql";
import { Provider } from "./enums.js";
import { SafeInt } from "./scalars.js";

@ObjectType()
export class GeneratedImage {
  @Field(() => Int)
  index!: number;

  @Field({ description: "Absolute URL of the image as kept by the gateway (SiliconFlow's own URLs expire after an hour)." })
  url!: string;

  @Field(() => Int)
  width!: number;

  @Field(() => Int)
  height!: number;

  @Field()
  mimeType!: string;

  @Field(() => Int)
  bytes!: number;

  /** The stored file's name; resolves `dataUrl`. Not part of the schema. */
  fileName!: string;
}

@ObjectType()
export class GenerationTimings {
  @Field(() => Float, { nullable: true, description: "SiliconFlow's reported inference time." })
  inferenceSeconds?: number | null;

  @Field(() => Float, { description: "Time spent in the gateway on this call, from its start to its result." })
  totalMs!: number;
}

@ObjectType()
export class GenerateImagesPayload {
  @Field(() => ID, { description: "Also the call's `call_id` in the call log." })
  callId!: string;

  @Field(() => Provider)
  provider!: Provider;

  @Field()
  model!: string;

  @Field(() => SafeInt, { nullable: true, description: "The seed SiliconFlow used." })
  seed?: number | null;

  @Field(() => [GeneratedImage])
  images!: GeneratedImage[];

  @Field(() => GenerationTimings)
  timings!: GenerationTimings;

  @Field({ description: "True when answered from the result cache: SiliconFlow was not called (nor billed)." })
  cacheHit!: boolean;
}
