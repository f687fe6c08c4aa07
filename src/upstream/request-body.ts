import { Readable } from "node:stream";
import { imageFieldNames, type WireInputImage } from "./wire.js";

/** Multiple of 3, so each chunk encodes to base64 without padding in the middle of the stream. */
const CHUNK = 3 * 16 * 1024;

export interface StreamedBody {
  contentLength: number;
  /** A fresh stream per call: a retry needs its own. */
  open(): Readable;
}

/**
 * The generation body as a stream: JSON of the scalar fields, then each image as a data URL written in
 * base64 chunks. The whole image never becomes one string, and the length is known before sending.
 */
export function buildGenerationBody(fields: Record<string, string | number>, images: readonly WireInputImage[]): StreamedBody {
  if (images.length > imageFieldNames.length) throw new Error(`at most ${imageFieldNames.length} input images`);
  const head = Buffer.from(JSON.stringify(fields).slice(0, -1), "utf8");
  const parts = images.map((image, i) => ({
    prefix: Buffer.from(`,${JSON.stringify(imageFieldNames[i])}:"data:${image.mimeType};base64,`, "utf8"),
    data: image.data,
  }));
  const quote = Buffer.from('"');
  const tail = Buffer.from("}");
  const contentLength =
    head.length + tail.length + parts.reduce((n, p) => n + p.prefix.length + Math.ceil(p.data.length / 3) * 4 + quote.length, 0);

  function* chunks(): Generator<Buffer> {
    yield head;
    for (const part of parts) {
      yield part.prefix;
      for (let offset = 0; offset < part.data.length; offset += CHUNK) {
        yield Buffer.from(part.data.subarray(offset, offset + CHUNK).toString("base64"), "latin1");
      }
      yield quote;
    }
    yield tail;
  }
  return { contentLength, open: () => Readable.from(chunks(), { objectMode: false }) };
}
