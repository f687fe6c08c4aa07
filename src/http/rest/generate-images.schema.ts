/**
 * The JSON schemas of `POST /generate-images`: they validate the form's text fields (types only: what a
 * model takes and the ranges are the service's to check) and describe request and answer for OpenAPI.
 */

/** The form's text fields once read, as the schema has coerced them. */
export interface GenerateImagesForm {
  model: string;
  prompt: string;
  negative_prompt?: string;
  image_size?: string;
  batch_size?: number;
  seed?: number;
  num_inference_steps?: number;
  guidance_scale?: number;
  cfg?: number;
  cache?: boolean;
}

export const restErrorSchema = {
  type: "object",
  description: "Every refusal and failure of the REST face, whatever its status.",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "message", "field"],
      properties: {
        code: { type: "string", description: "A stable code (README, Error codes), e.g. `BAD_USER_INPUT`, `RATE_LIMITED`, `UPSTREAM_TIMEOUT`." },
        message: { type: "string", description: "What went wrong and how to fix it." },
        field: { type: ["string", "null"], description: "The form field at fault (`prompt`, `image_size`, `images`…), or null." },
        index: { type: "integer", description: "For `images`: which file (0 for the first)." },
        retry_after_seconds: { type: "integer", description: "With 429 (and Retry-After): when to try again." },
      },
    },
  },
} as const;

const body = {
  type: "object",
  required: ["model", "prompt"],
  properties: {
    images: {
      type: "array",
      items: { type: "string", format: "binary" },
      description:
        "Input images for edit models (PNG, JPEG, WebP, GIF…), one part per file, in order: sent to SiliconFlow as image, image2, image3. None for text-to-image models.",
    },
    model: { type: "string", description: "SiliconFlow model id, e.g. `Kwai-Kolors/Kolors` or `Qwen/Qwen-Image-Edit-2509` (`GET /health` lists them)." },
    prompt: { type: "string", description: "What to draw, or how to change the images." },
    negative_prompt: { type: "string", description: "What to keep out of the picture, for models that take one." },
    image_size: { type: "string", description: "`WxH`, one of the model's sizes, e.g. `1024x1024`." },
    batch_size: { type: "integer", description: "How many images (1 to 4, for models that take a batch)." },
    seed: { type: "integer", description: "0 to 9999999999; random when absent. A seeded repeat is answered from the result cache." },
    num_inference_steps: { type: "integer", description: "Inference steps, within the model's range." },
    guidance_scale: { type: "number", description: "For models guided by `guidance_scale`." },
    cfg: { type: "number", description: "For models guided by `cfg` (Qwen's)." },
    cache: { type: "boolean", description: "`false` forces a new (billed) generation even for a seeded repeat.", default: true },
  },
} as const;

const image = {
  type: "object",
  required: ["index", "url", "width", "height", "type", "size"],
  properties: {
    index: { type: "integer", description: "Position in the batch, from 0." },
    url: { type: "string", description: "Where the gateway serves the image; it does not expire like SiliconFlow's own URLs." },
    width: { type: "integer" },
    height: { type: "integer" },
    type: { type: "string", description: "MIME type, e.g. `image/png`." },
    size: { type: "integer", description: "Bytes." },
  },
} as const;

const answer = {
  type: "object",
  description: "The generated images, the seed and the timings.",
  required: ["call_id", "model", "provider", "images", "seed", "timings", "cache_hit"],
  properties: {
    call_id: { type: "string", description: "The call's id, also `call_id` in the call log." },
    model: { type: "string" },
    provider: { type: "string", description: "`SILICONFLOW`, or `SIMULATOR` when the gateway runs without a key." },
    images: { type: "array", items: image },
    seed: { type: ["integer", "null"], description: "The seed SiliconFlow used." },
    timings: {
      type: "object",
      required: ["inference", "total_ms"],
      properties: {
        inference: { type: ["number", "null"], description: "SiliconFlow's inference time, in seconds." },
        total_ms: { type: "number", description: "The gateway's time for the request from its arrival (its upload included), in milliseconds, as the call log's total_time_ms." },
      },
    },
    cache_hit: { type: "boolean", description: "Answered from the result cache: nothing was sent upstream, nothing billed." },
  },
} as const;

// Inline rather than a shared `$ref`: a schema added inside the route's plugin scope is not seen by an
// OpenAPI generator registered at the root.
const refusal = restErrorSchema;

export const generateImagesSchema = {
  summary: "Generate or edit images (the original REST API)",
  description:
    "A multipart form: the text fields below and the input images under `images`. Runs through the same pipeline as GraphQL's " +
    "`generateImages`: client tokens (`Authorization: Bearer`), rate limits, the result cache and one call-log line per call.",
  tags: ["rest"],
  consumes: ["multipart/form-data"],
  body,
  response: {
    200: answer,
    400: { ...refusal, description: "Bad input: `field` names the form field." },
    401: { ...refusal, description: "A client token is needed." },
    413: { ...refusal, description: "A file or the form is too large." },
    415: { ...refusal, description: "Not a multipart form." },
    429: { ...refusal, description: "A rate limit or the images-per-minute budget: see Retry-After." },
    500: { ...refusal, description: "The gateway failed." },
    502: { ...refusal, description: "SiliconFlow refused or failed the call." },
    503: { ...refusal, description: "The gateway is stopping, or cannot write its call log or store images." },
    504: { ...refusal, description: "SiliconFlow did not answer in time." },
  },
} as const;
