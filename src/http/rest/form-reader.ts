import { Readable } from "node:stream";
import type { FastifyRequest } from "fastify";
import type { Multipart } from "@fastify/multipart";
import { ErrorCode } from "../../errors.js";
import type { IncomingFile } from "../../generation/upload-reader.js";
import { quoteInput } from "../../observability/truncate.js";
import { FormRefusal, formRefusalOf } from "../form-refusal.js";

/** The form part that carries the input images, repeated once per image, in order. */
export const IMAGES_FIELD = "images";

export interface FormLimits {
  /** Bytes kept of one file; past it the file is handed on marked truncated, for the service to refuse. */
  maxFileBytes: number;
  /** Files kept in memory; more are read to their end and only counted, for the service to refuse. */
  maxFiles: number;
  /** Bytes of one text field. */
  maxFieldBytes: number;
  /** Text fields in one form. */
  maxFields: number;
}

/** A form as the route hands it on: the text fields (a repeated one as a list) and the files under `images`. */
export interface ReadForm {
  fields: Record<string, unknown>;
  images: IncomingFile[];
}

/** A file kept whole (or cut at the limit, and marked so), readable once like an upload from the GraphQL face. */
function keptFile(part: Extract<Multipart, { type: "file" }>, bytes: Buffer): IncomingFile {
  const truncated = part.file.truncated;
  let read = false;
  return {
    filename: part.filename,
    mimetype: part.mimetype,
    createReadStream() {
      if (read) throw new Error("the upload was read already");
      read = true;
      // `truncated` is what the upload reader checks on a stream its parser cut at the size limit.
      return Object.assign(Readable.from([bytes]), { truncated });
    },
  };
}

/**
 * A file past the count the gateway keeps in memory: the service refuses the call by the count before
 * it reads a byte, so there is nothing to hand over.
 */
function uncountedFile(part: Extract<Multipart, { type: "file" }>): IncomingFile {
  return {
    filename: part.filename,
    mimetype: part.mimetype,
    createReadStream() {
      throw new Error("the file was past the upload count and was not kept");
    },
  };
}

async function drain(stream: Readable): Promise<void> {
  for await (const _ of stream) {
    // Read and dropped: the parser moves on to the next part only once this one has been read.
  }
}

/**
 * Reads a multipart form to its end: the text fields, and the files under `images` in the order sent.
 * The whole form is read before the call is made, since its fields may come after its files and the
 * service needs both (and the count of files) before it reads an image.
 *
 * Only the transport's bounds are applied here (bytes per file and per field, parts per form); what a
 * call may carry (how many images, how large, whether they decode) is the service's to refuse, as for the
 * GraphQL face. A problem found midway is kept and the form still read to its end, so the client reads
 * its answer instead of a reset connection.
 */
export async function readForm(request: FastifyRequest, limits: FormLimits): Promise<ReadForm> {
  const fields: Record<string, unknown> = {};
  const images: IncomingFile[] = [];
  let problem: FormRefusal | undefined;
  try {
    for await (const part of request.parts({ limits: { fileSize: limits.maxFileBytes, fieldSize: limits.maxFieldBytes, fields: limits.maxFields } })) {
      if (part.type === "file") {
        if (part.fieldname !== IMAGES_FIELD) {
          await drain(part.file);
          problem ??= new FormRefusal(400, ErrorCode.BAD_USER_INPUT, `Unexpected file under ${quoteInput(part.fieldname)}: send image files under \`${IMAGES_FIELD}\``, part.fieldname);
          continue;
        }
        if (images.length >= limits.maxFiles) {
          await drain(part.file);
          images.push(uncountedFile(part));
          continue;
        }
        const bytes = await part.toBuffer();
        // A browser's file input left empty sends a part with no name and no bytes: no image was chosen.
        if (part.filename === "" && bytes.length === 0) continue;
        images.push(keptFile(part, bytes));
        continue;
      }
      if (part.fieldname === IMAGES_FIELD) {
        problem ??= new FormRefusal(400, ErrorCode.BAD_USER_INPUT, `\`${IMAGES_FIELD}\` must be image files, not text`, IMAGES_FIELD);
        continue;
      }
      if (part.valueTruncated) {
        problem ??= new FormRefusal(413, ErrorCode.PAYLOAD_TOO_LARGE, `${quoteInput(part.fieldname)} is larger than the ${limits.maxFieldBytes}-byte field limit`, part.fieldname);
        continue;
      }
      // A browser sends every field of a form, the ones left blank as empty strings: those ask for nothing.
      if (part.value === "") continue;
      // A field sent twice becomes a list, which the schema then refuses as not a single value.
      const previous = fields[part.fieldname];
      fields[part.fieldname] = previous === undefined ? part.value : [...(Array.isArray(previous) ? (previous as unknown[]) : [previous]), part.value];
    }
  } catch (error) {
    throw formRefusalOf(error);
  }
  if (problem) throw problem;
  return { fields, images };
}
