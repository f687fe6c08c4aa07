import type { GenerationParams } from "../../models/generation-rules.js";

/** The body fields both image routes take, as the schemas have typed them. */
export interface OpenAIImageFields {
  model: string;
  prompt: string;
  n?: number;
  size?: string;
  response_format?: "url" | "b64_json";
  user?: string;
  negative_prompt?: string;
  seed?: number;
  num_inference_steps?: number;
  guidance_scale?: number;
  cfg?: number;
}

export type ResponseFormat = "url" | "b64_json";

/**
 * OpenAI's names to the service's: `size` (`WxH`, SiliconFlow's image_size format too) and `n` (the batch
 * size), SiliconFlow's extras as they are. `size: auto` asks for the model's default, as leaving it out does.
 * Nothing is checked here: the service checks every value against the model.
 */
export function generationParams(fields: OpenAIImageFields): GenerationParams {
  return {
    model: fields.model,
    prompt: fields.prompt,
    negativePrompt: fields.negative_prompt,
    imageSize: fields.size === undefined || fields.size === "auto" ? undefined : fields.size,
    batchSize: fields.n,
    seed: fields.seed,
    numInferenceSteps: fields.num_inference_steps,
    guidanceScale: fields.guidance_scale,
    cfg: fields.cfg,
  };
}
