import { Readable } from "node:stream";
import multipart, { type Multipart } from "@fastify/multipart";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ErrorCode } from "../errors.js";
import type { IncomingFile } from "../generation/upload-reader.js";
import { quoteInput } from "../observability/truncate.js";
import { FormRefusal, formRefusalOf } from "./form-refusal.js";

/** What a face's form holds besides its text fields. */
export interface FormShape {
  /** The parts whose files are the call's input images, repeated once per image, in order (a face may take several names). */
  imageFields: readonly string[];
  /** Files the face refuses with a reason of its own, by part name (OpenAI's `mask`). */
  refusedFiles?: Readonly<Record<string, string>>;
}

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

/** A form as the route hands it on: the text fields (a repeated one as a list) and the image files, in order. */
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
 * Reads a multipart form to its end: the text fields, and the image files in the order sent.
 * The whole form is read before the call is made, since its fields may come after its files and the
 * service needs both (and the count of files) before it reads an image.
 *
 * Only the transport's bounds are applied here (bytes per file and per field, parts per form); what a
 * call may carry (how many images, how large, whether they decode) is the service's to refuse, as for the
 * GraphQL face. A problem found midway is kept and the form still read to its end, so the client reads
 * its answer instead of a reset connection.
 */
export async function readForm(request: FastifyRequest, limits: FormLimits, shape: FormShape): Promise<ReadForm> {
  const imageFields = new Set(shape.imageFields);
  const named = shape.imageFields.map((name) => `\`${name}\``).join(" or ");
  const fields: Record<string, unknown> = {};
  const images: IncomingFile[] = [];
  let problem: FormRefusal | undefined;
  try {
    for await (const part of request.parts({ limits: { fileSize: limits.maxFileBytes, fieldSize: limits.maxFieldBytes, fields: limits.maxFields } })) {
      if (part.type === "file") {
        if (!imageFields.has(part.fieldname)) {
          await drain(part.file);
          const reason = Object.hasOwn(shape.refusedFiles ?? {}, part.fieldname) ? shape.refusedFiles![part.fieldname]! : undefined;
          problem ??= new FormRefusal(400, ErrorCode.BAD_USER_INPUT, reason ?? `Unexpected file under ${quoteInput(part.fieldname)}: send image files under ${named}`, part.fieldname);
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
      if (imageFields.has(part.fieldname)) {
        problem ??= new FormRefusal(400, ErrorCode.BAD_USER_INPUT, `\`${part.fieldname}\` must be image files, not text`, part.fieldname);
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

export interface FormReadingOptions {
  /** The route whose form this reads; the scope's other routes are left alone. */
  path: string;
  limits: FormLimits;
  shape: FormShape;
  /** A body that is not a form is refused (415) rather than left to the route's other parsers. */
  formOnly: boolean;
  /** The whole request, checked against Content-Length before a byte is parsed. */
  maxRequestBytes?: number;
  /** Writes the refused call's line and answers it in the face's shape. */
  refuse: (request: FastifyRequest, reply: FastifyReply, refusal: FormRefusal) => FastifyReply;
}

/**
 * A REST face's form, read in its own plugin scope (the GraphQL route keeps its parser) before the route
 * schema validates the text fields as it would JSON ones. Returns where the route finds the request's images.
 */
export async function registerFormReading(scope: FastifyInstance, options: FormReadingOptions): Promise<(request: FastifyRequest) => IncomingFile[]> {
  const images = new WeakMap<FastifyRequest, IncomingFile[]>();
  // Inherited from the root, where the GraphQL route's no-op parser is registered; this scope parses its own.
  scope.removeContentTypeParser("multipart/form-data");
  // A file past the size limit is handed on marked truncated, for the service to refuse by its own rule.
  await scope.register(multipart, { throwFileSizeLimit: false });
  scope.addHook("preValidation", async (request, reply) => {
    if (request.routeOptions.url !== options.path || reply.sent) return;
    if (!request.isMultipart()) {
      if (options.formOnly) options.refuse(request, reply, new FormRefusal(415, ErrorCode.BAD_USER_INPUT, "Send the form as multipart/form-data"));
      return;
    }
    const declared = Number(request.headers["content-length"]);
    if (options.maxRequestBytes !== undefined && Number.isFinite(declared) && declared > options.maxRequestBytes) {
      options.refuse(request, reply, new FormRefusal(413, ErrorCode.PAYLOAD_TOO_LARGE, `The request is larger than the ${options.maxRequestBytes}-byte limit`));
      return;
    }
    try {
      const form = await readForm(request, options.limits, options.shape);
      request.body = form.fields;
      images.set(request, form.images);
    } catch (error) {
      if (!(error instanceof FormRefusal)) throw error;
      options.refuse(request, reply, error);
    }
  });
  return (request) => images.get(request) ?? [];
}
