import type { Readable } from "node:stream";
import { ErrorCode, GatewayError, badInput } from "./errors.js";

/** One uploaded file as the transport hands it over; the stream can be read once. */
export interface IncomingFile {
  filename: string;
  mimetype: string;
  createReadStream(): Readable;
}

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
 * Reads an upload into one buffer, refusing it past `maxBytes`. A stream the parser cut at its own
 * limit ends without an error but is marked `truncated`: that is a refusal too, never half a file.
 */
export async function readUpload(upload: Promise<IncomingFile>, field: string, maxBytes: number): Promise<Buffer> {
  let stream: Readable;
  try {
    stream = (await upload).createReadStream();
  } catch (error) {
    throw uploadFault(field, error, maxBytes);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > maxBytes) {
        stream.destroy();
        throw tooLarge(field, maxBytes);
      }
      chunks.push(chunk);
    }
  } catch (error) {
    throw uploadFault(field, error, maxBytes);
  }
  if ((stream as Readable & { truncated?: boolean }).truncated) throw tooLarge(field, maxBytes);
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
}

