import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { IncomingFile } from "../../generation/upload-reader.js";
import type { FormRefusal } from "../form-refusal.js";
import { registerFormReading, type FormLimits } from "../form-reader.js";

/** The form fields whose files are the call's input images: OpenAI's SDKs send one as `image`, a list as `image[]`. */
const IMAGE_FIELDS = ["image", "image[]"];

/** OpenAI's edits take a mask; SiliconFlow's have none, and a call that asks for one is refused rather than run without it. */
export const MASK_UNSUPPORTED = "mask is not supported: SiliconFlow edits the whole image";

export interface ImageUploadOptions {
  /** The edits route, the one that takes a form. */
  path: string;
  limits: FormLimits;
  /** Writes the refused call's line and answers it in OpenAI's shape. */
  refuse: (request: FastifyRequest, reply: FastifyReply, refusal: FormRefusal) => FastifyReply;
}

/**
 * The edits route's multipart form, read by the same reader as /generate-images', under OpenAI's names.
 * A JSON body is left to the route schema. Returns the request's input images, in order, as the generation
 * service takes them.
 */
export async function registerImageUploads(scope: FastifyInstance, options: ImageUploadOptions): Promise<(request: FastifyRequest) => Promise<IncomingFile>[]> {
  const imagesOf = await registerFormReading(scope, {
    path: options.path,
    limits: options.limits,
    shape: { imageFields: IMAGE_FIELDS, refusedFiles: { mask: MASK_UNSUPPORTED } },
    formOnly: false,
    refuse: options.refuse,
  });
  return (request) => imagesOf(request).map((file) => Promise.resolve(file));
}
