import type { FileUpload } from "graphql-upload-minimal";
import { Field, Float, InputType, Int } from "type-graphql";
import { SafeInt, Upload } from "./scalars.js";

@InputType({ description: "One image generation. Limits depend on the model: see `models`." })
export class GenerateImagesInput {
  @Field({ description: "SiliconFlow model id, e.g. `Qwen/Qwen-Image-Edit-2509`." })
  model!: string;

  @Field()
  prompt!: string;

  @Field(() => String, { nullable: true })
  negativePrompt?: string | null;

  @Field(() => String, { nullable: true, description: "`WxH`, one of the model's `imageSizes`." })
  imageSize?: string | null;

  @Field(() => Int, { nullable: true })
  batchSize?: number | null;

  @Field(() => SafeInt, { nullable: true, description: "0 to 9 999 999 999; random when absent." })
  seed?: number | null;

  @Field(() => Int, { nullable: true })
  numInferenceSteps?: number | null;

  @Field(() => Float, { nullable: true, description: "For models whose `guidance` is `GUIDANCE_SCALE`." })
  guidanceScale?: number | null;

  @Field(() => Float, { nullable: true, description: "For models whose `guidance` is `CFG`." })
  cfg?: number | null;

  @Field(() => [Upload], { nullable: true, description: "Input images in order: sent upstream as image, image2, image3." })
  images?: Array<Promise<FileUpload>> | null;

  @Field(() => Boolean, {
    nullable: true,
    defaultValue: true,
    description: "With a seed, a repeat of the same call is answered from the gateway's result cache (not billed again). False forces a new generation.",
  })
  cache?: boolean | null;
}
