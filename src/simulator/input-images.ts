import type { EditInput } from "./painter.js";
import type { ImageRef } from "./validation.js";

/** An input image the simulator could not obtain; the message is safe to send back as a 20015 error. */
export class InputImageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "InputImageError";
  }
}

// SiliconFlow documents no limit for URL inputs; these bounds only keep a test run from stalling or
// swallowing memory when pointed at the wrong thing.
const fetchTimeoutMs = 15_000;
const maxFetchedBytes = 32 * 1024 * 1024;

/** Turns data URLs and http(s) URLs into bytes; decoding them is left to the painter. */
export async function resolveInputImages(refs: ImageRef[], signal: AbortSignal): Promise<EditInput[]> {
  return Promise.all(
    refs.map(async (ref): Promise<EditInput> => {
      if (ref.kind === "data") {
        const bytes = Buffer.from(ref.base64, "base64");
        if (bytes.length === 0) throw new InputImageError(`${ref.field} has no image data`);
        return { field: ref.field, bytes };
      }
      return { field: ref.field, bytes: await fetchImage(ref.field, ref.url, signal) };
    }),
  );
}

async function fetchImage(field: string, url: string, signal: AbortSignal): Promise<Buffer> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(fetchTimeoutMs)]) });
  } catch (error) {
    throw new InputImageError(`${field} could not be downloaded`, { cause: error });
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw new InputImageError(`${field} could not be downloaded (HTTP ${response.status})`);
  }
  const declared = Number(response.headers.get("content-length") ?? "0");
  if (declared > maxFetchedBytes) {
    await response.body.cancel();
    throw new InputImageError(`${field} is too large`);
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > maxFetchedBytes) {
        await reader.cancel();
        throw new InputImageError(`${field} is too large`);
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof InputImageError) throw error;
    throw new InputImageError(`${field} could not be downloaded`, { cause: error });
  }
  return Buffer.concat(chunks);
}
