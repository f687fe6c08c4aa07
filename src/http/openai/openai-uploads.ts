import { Readable } from "node:stream";
import multipart, { type MultipartFile } from "@fastify/multipart";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { IncomingFile } from "../../generation/upload-reader.js";

/** The form fields whose files are the call's input images: OpenAI's SDKs send one as `image`, a list as `image[]`. */
const IMAGE_FIELDS: ReadonlySet<string> = new Set(["image", "image[]"]);

export interface ImageUploadOptions {
  maxFileBytes: number;
  maxFiles: number;
  /** In code points, as the service counts them. */
  maxPromptLength: number;
}

/** Text fields besides the prompts are short; a form with more than this is no image call. */
const MAX_FIELDS = 40;

/** The images of each request, in the order they arrived, whichever of the two field names carried them. */
const uploaded = new WeakMap<FastifyRequest, IncomingFile[]>();

/** A file already read, as the service reads uploads: a stream of its bytes, which may be opened again. */
function incomingFile(part: MultipartFile, data: Buffer): IncomingFile {
  return { filename: part.filename, mimetype: part.mimetype, createReadStream: () => Readable.from([data]) };
}

/**
 * Multipart bodies for this scope only (the GraphQL route keeps its own parser): @fastify/multipart reads
 * every part before validation, so the route schema checks the text fields like JSON ones. Each file is
 * read whole, within the upload limits the GraphQL route has: the form's fields may come after its files,
 * and the call cannot be checked before they are known. In the body a file stands as its name, so the
 * schema sees a string where a file was sent.
 */
export async function registerImageUploads(scope: FastifyInstance, options: ImageUploadOptions): Promise<void> {
  // Inherited from the root, where the GraphQL route's parser is registered; this scope parses its own.
  scope.removeContentTypeParser("multipart/form-data");
  await scope.register(multipart, {
    attachFieldsToBody: "keyValues",
    limits: {
      fileSize: options.maxFileBytes,
      files: options.maxFiles,
      fields: MAX_FIELDS,
      parts: options.maxFiles + MAX_FIELDS,
      // The parser cuts a longer field without a word. Past 4 bytes a code point, a cut prompt still has more
      // code points than the service allows, so it is refused there rather than sent upstream cut.
      fieldSize: 4 * options.maxPromptLength + 4,
    },
    async onFile(this: FastifyRequest, part: MultipartFile) {
      const data = await part.toBuffer();
      if (IMAGE_FIELDS.has(part.fieldname)) {
        const files = uploaded.get(this) ?? [];
        files.push(incomingFile(part, data));
        uploaded.set(this, files);
      }
      part.value = part.filename || part.fieldname;
    },
  });
}

/** The request's input images, in order, as the generation service takes them. */
export function uploadedImages(request: FastifyRequest): Promise<IncomingFile>[] {
  return (uploaded.get(request) ?? []).map((file) => Promise.resolve(file));
}
