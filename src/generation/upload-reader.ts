import type { Readable } from "node:stream";
import { ErrorCode, GatewayError, badInput } from "../errors.js";

/** One uploaded file as the transport hands it over; the stream can be read once. */
export interface IncomingFile {
  filename: string;
  mimetype: string;
  createReadStream(): Readable;
}

/** How reading a file ended, kept apart from any one path so each path's error can name its own field. */
type ReadOutcome = { ok: true; bytes: Buffer } | { ok: false; fault: (field: string) => GatewayError };

/**
 * The GraphQL multipart spec lets `map` list one file under several paths (apollo-upload-client does so
 * for a File used twice), and a variable can be used by several fields: every path then resolves to the
 * same file object, whose stream can be read only once. So the first reader reads it and every other
 * path of the request gets the same bytes. Keyed weakly by that object, which lives only as long as its
 * request: nothing outlives the request, and no request sees another's files.
 */
const reads = new WeakMap<IncomingFile, Promise<ReadOutcome>>();

/** The upload layer signals HTTP-ish faults (413 over the limit, 400 missing file, 499 client gone). */
function uploadFault(field: string, error: unknown, maxBytes: number): GatewayError {
  if (error instanceof GatewayError) return error;
  const status = (error as { status?: number } | null)?.status;
  if (status === 413) return tooLarge(field, maxBytes);
  if (status === 499) return badInput(field, `${field} was cut off: the client disconnected during the upload`);
  // Uploads are read only once the map was parsed; after that the parser's only 400 for a file is
  // that its part never came.
  if (status === 400) return badInput(field, `${field} is missing from the multipart request (no file part matches the map)`);
  return badInput(field, `${field} could not be read from the request`);
}

function tooLarge(field: string, maxBytes: number): GatewayError {
  return new GatewayError(ErrorCode.PAYLOAD_TOO_LARGE, `${field} is larger than the ${maxBytes}-byte upload limit`, { field, httpStatus: 413 });
}

/**
 * Reads a stream into one buffer, refusing it past `maxBytes`. A stream the parser cut at its own
 * limit ends without an error but is marked `truncated`: that is a refusal too, never half a file.
 */
async function readStream(file: IncomingFile, maxBytes: number): Promise<ReadOutcome> {
  let stream: Readable;
  try {
    stream = file.createReadStream();
  } catch (error) {
    return { ok: false, fault: (field) => uploadFault(field, error, maxBytes) };
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > maxBytes) {
        stream.destroy();
        return { ok: false, fault: (field) => tooLarge(field, maxBytes) };
      }
      chunks.push(chunk);
    }
  } catch (error) {
    return { ok: false, fault: (field) => uploadFault(field, error, maxBytes) };
  }
  if ((stream as Readable & { truncated?: boolean }).truncated) return { ok: false, fault: (field) => tooLarge(field, maxBytes) };
  return { ok: true, bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total) };
}

/** An upload's bytes, read once per file however many paths name it; refused past `maxBytes`. */
export async function readUpload(upload: Promise<IncomingFile>, field: string, maxBytes: number): Promise<Buffer> {
  let file: IncomingFile;
  try {
    file = await upload;
  } catch (error) {
    throw uploadFault(field, error, maxBytes);
  }
  // Looked up and stored with no await in between, so two paths read at once still share one read.
  let read = reads.get(file);
  if (!read) {
    read = readStream(file, maxBytes);
    reads.set(file, read);
  }
  const outcome = await read;
  if (!outcome.ok) throw outcome.fault(field);
  return outcome.bytes;
}
