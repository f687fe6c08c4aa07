/**
 * The face's JSON schemas: Fastify validates requests with them (types only; what a model accepts is the
 * service's to say) and @fastify/swagger turns them into the OpenAPI document.
 */

/** OpenAI's error shape; `code` is the gateway's stable error code, `param` the field at fault. */
const errorSchema = {
  type: "object",
  properties: {
    error: {
      type: "object",
      properties: {
        message: { type: "string" },
        type: { type: "string", examples: ["invalid_request_error"] },
        param: { type: ["string", "null"] },
        code: { type: "string", examples: ["BAD_USER_INPUT"] },
      },
      required: ["message", "type", "param", "code"],
    },
  },
  required: ["error"],
} as const;

/** SiliconFlow's own parameters, taken as extra body fields beside OpenAI's. */
const siliconFlowExtras = {
  negative_prompt: { type: "string", description: "What the image should not show (models that take one)." },
  seed: { type: "integer", minimum: 0, description: "Same seed, same parameters, same image; a seeded repeat may be answered from the gateway's cache." },
  num_inference_steps: { type: "integer", description: "Denoising steps, within the model's range." },
  guidance_scale: { type: "number", description: "For models steered by guidance_scale." },
  cfg: { type: "number", description: "For models steered by cfg." },
} as const;

const commonFields = {
  model: { type: "string", description: "A model id of `GET /v1/models`; OpenAI's own names (dall-e-3, gpt-image-1) are not mapped." },
  prompt: { type: "string" },
  n: { type: "integer", description: "How many images (SiliconFlow's batch_size), up to the model's maximum." },
  size: { type: "string", description: "`WIDTHxHEIGHT`, one of the model's sizes, or `auto` for its default.", examples: ["1024x1024"] },
  response_format: { type: "string", enum: ["url", "b64_json"], default: "url" },
  user: { type: "string", description: "Accepted for compatibility; not used." },
  ...siliconFlowExtras,
} as const;

const imagesResponse = {
  type: "object",
  properties: {
    created: { type: "integer", description: "Unix seconds." },
    data: {
      type: "array",
      items: {
        type: "object",
        description: "`url` (a gateway URL) or `b64_json`, by `response_format`.",
        properties: { url: { type: "string" }, b64_json: { type: "string" } },
      },
    },
    seed: { type: ["integer", "null"], description: "The seed the images were made with." },
    timings: {
      type: "object",
      properties: { inference_seconds: { type: ["number", "null"] }, total_ms: { type: "number" } },
    },
    call_id: { type: "string", description: "The call's id in the gateway's call log." },
    cache_hit: { type: "boolean" },
  },
  required: ["created", "data"],
} as const;

const errorResponses = {
  400: { ...errorSchema, description: "Bad input; `param` names the field." },
  401: { ...errorSchema, description: "A client token is configured and none was sent." },
  413: { ...errorSchema, description: "The request or an image is too large." },
  429: { ...errorSchema, description: "A rate limit or the images-per-minute budget is spent; see Retry-After." },
  502: { ...errorSchema, description: "SiliconFlow failed." },
  503: { ...errorSchema, description: "The gateway cannot take calls now (stopping, or unable to write its call log)." },
  504: { ...errorSchema, description: "SiliconFlow timed out." },
} as const;

const TAG = "OpenAI Images API";

export const generationsSchema = {
  operationId: "createImage",
  tags: [TAG],
  summary: "Generate images from a prompt (OpenAI's images.generate).",
  security: [{ bearer: [] }],
  body: {
    type: "object",
    required: ["model", "prompt"],
    properties: {
      ...commonFields,
      quality: { type: "string", description: "Accepted for compatibility; SiliconFlow has no such setting." },
      style: { type: "string", description: "Accepted for compatibility; SiliconFlow has no such setting." },
      stream: { type: "boolean", description: "Streaming is not supported: only false is accepted." },
    },
  },
  response: { 200: { description: "The images.", ...imagesResponse }, ...errorResponses },
} as const;

const binary = { type: "string", format: "binary" } as const;

export const editsSchema = {
  operationId: "createImageEdit",
  tags: [TAG],
  summary: "Edit images (OpenAI's images.edit): the files reach SiliconFlow as image, image2, image3, in order.",
  security: [{ bearer: [] }],
  consumes: ["multipart/form-data"],
  body: {
    type: "object",
    required: ["model", "prompt"],
    properties: {
      image: { description: "One image file (repeat the field for several).", anyOf: [binary, { type: "array", items: binary }] },
      "image[]": { description: "Several image files, in order (as OpenAI's SDKs send a list).", type: "array", items: binary },
      mask: { ...binary, description: "Not supported: SiliconFlow takes no mask." },
      ...commonFields,
    },
  },
  response: { 200: { description: "The images.", ...imagesResponse }, ...errorResponses },
} as const;

export const modelsSchema = {
  operationId: "listModels",
  tags: [TAG],
  summary: "The image models this gateway can call (from its model registry, no upstream call).",
  security: [{ bearer: [] }],
  response: {
    200: {
      description: "OpenAI's list shape.",
      type: "object",
      properties: {
        object: { type: "string", enum: ["list"] },
        data: {
          type: "array",
          items: {
            type: "object",
            properties: {
              id: { type: "string" },
              object: { type: "string", enum: ["model"] },
              created: { type: "integer" },
              owned_by: { type: "string" },
              kind: { type: "string", description: "TEXT_TO_IMAGE or IMAGE_EDIT." },
              max_input_images: { type: "integer" },
              max_n: { type: "integer" },
              sizes: { type: "array", items: { type: "string" } },
            },
            required: ["id", "object", "created", "owned_by"],
          },
        },
      },
      required: ["object", "data"],
    },
    401: { ...errorSchema, description: "Client tokens and `auth.protectQueries` are configured and no token was sent." },
  },
} as const;
