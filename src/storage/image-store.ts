import { createHash, randomUUID } from "node:crypto";
import { constants } from "node:fs";
import { access, mkdir, open, readdir, readFile, rename, stat, unlink } from "node:fs/promises";
import path from "node:path";
import { ErrorCode, GatewayError } from "../errors.js";
import { describeImage } from "../generation/image-processing.js";

export interface StoredImage {
  hash: string;
  fileName: string;
  mimeType: string;
  width: number;
  height: number;
  bytes: number;
}

export interface StoredFile {
  path: string;
  bytes: number;
  mimeType: string;
  etag: string;
}

export type StreamedImage = StoredImage & { head: Buffer; storeMs: number };

const NAME = /^([a-f0-9]{64})\.(png|jpg|webp|gif|tiff|avif)$/;
/** A file being written; renamed to its hash when complete. */
const TEMPORARY = /^\.[0-9a-f-]{36}\.tmp$/;

/** Why a disk refuses a write, in words; these make the store, not the call, at fault. */
const STORAGE_REASONS: Record<string, string> = {
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
  EROFS: "the file system is read-only",
  EIO: "an input/output error",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EMFILE: "too many open files",
  ENFILE: "too many open files in the system",
};

/** A write to the store failed: STORAGE_UNAVAILABLE naming the OS's reason (never the server's path). */
function storageError(error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (!code || !(code in STORAGE_REASONS)) return error;
  return new GatewayError(
    ErrorCode.STORAGE_UNAVAILABLE,
    `the generated images could not be stored: ${STORAGE_REASONS[code]} (${code}); the call ran at SiliconFlow and may have been billed`,
    { cause: error },
  );
}
const mimeByExtension: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  webp: "image/webp",
  gif: "image/gif",
  tiff: "image/tiff",
  avif: "image/avif",
};

/** Output images by content hash: the same picture is kept once and its name never changes meaning. */
export class ImageStore {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = path.resolve(dataDir, "images");
  }

  /**
   * Creates the folder, and removes temporary files older than `startedAt`: a process killed in the
   * middle of writing (kill -9, OOM) leaves them, and nothing else would ever delete them. Returns
   * how many were removed.
   */
  async init(startedAt = Date.now()): Promise<number> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await access(this.dir, constants.W_OK);
    let removed = 0;
    for (const name of await readdir(this.dir)) {
      if (!TEMPORARY.test(name)) continue;
      const file = path.join(this.dir, name);
      // Newer ones may be another gateway's, writing into the same folder right now.
      const info = await stat(file).catch(() => undefined);
      if (!info || info.mtimeMs >= startedAt) continue;
      await unlink(file).then(
        () => removed++,
        () => undefined,
      );
    }
    return removed;
  }

  /** Writes the chunks to disk as they come while hashing them; the type and size come from the file's header. */
  async putStream(source: AsyncIterable<Buffer>): Promise<StreamedImage> {
    const temporary = path.join(this.dir, `.${randomUUID()}.tmp`);
    const hash = createHash("sha256");
    let head = Buffer.alloc(0);
    let bytes = 0;
    try {
      const file = await open(temporary, "wx", 0o600).catch((error: unknown) => {
        throw storageError(error);
      });
      try {
        for await (const chunk of source) {
          hash.update(chunk);
          if (head.length < 75) head = Buffer.concat([head, chunk.subarray(0, 75 - head.length)]);
          bytes += chunk.length;
          await file.write(chunk).catch((error: unknown) => {
            throw storageError(error);
          });
        }
      } finally {
        await file.close();
      }
      const storeStarted = performance.now();
      const description = await describeImage(temporary);
      const digest = hash.digest("hex");
      const fileName = `${digest}.${description.extension}`;
      await rename(temporary, path.join(this.dir, fileName)).catch((error: unknown) => {
        throw storageError(error);
      });
      const storeMs = performance.now() - storeStarted;
      return { hash: digest, fileName, mimeType: description.mimeType, width: description.width, height: description.height, bytes, head, storeMs };
    } catch (error) {
      await unlink(temporary).catch(() => undefined);
      throw error;
    }
  }

  /** Looks up a served name; anything that is not exactly `<sha256>.<ext>` is unknown (no path tricks). */
  async find(fileName: string): Promise<StoredFile | null> {
    const match = NAME.exec(fileName);
    if (!match) return null;
    const file = path.join(this.dir, fileName);
    try {
      const info = await stat(file);
      if (!info.isFile()) return null;
      return { path: file, bytes: info.size, mimeType: mimeByExtension[match[2]!]!, etag: `"${match[1]}"` };
    } catch {
      return null;
    }
  }

  async read(fileName: string): Promise<Buffer | null> {
    const found = await this.find(fileName);
    return found ? readFile(found.path) : null;
  }
}
