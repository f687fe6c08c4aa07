import { createHash, randomUUID } from "node:crypto";
import { constants } from "node:fs";
import { access, mkdir, open, readFile, rename, stat, unlink } from "node:fs/promises";
import path from "node:path";
import { describeImage } from "./image-processing.js";

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

const NAME = /^([a-f0-9]{64})\.(png|jpg|webp|gif|tiff|avif)$/;
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

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await access(this.dir, constants.W_OK);
  }

  /** Writes the chunks to disk as they come while hashing them; the type and size come from the file's header. */
  async putStream(source: AsyncIterable<Buffer>): Promise<StoredImage & { head: Buffer; storeMs: number }> {
    const temporary = path.join(this.dir, `.${randomUUID()}.tmp`);
    const hash = createHash("sha256");
    let head = Buffer.alloc(0);
    let bytes = 0;
    try {
      const file = await open(temporary, "wx", 0o600);
      try {
        for await (const chunk of source) {
          hash.update(chunk);
          if (head.length < 75) head = Buffer.concat([head, chunk.subarray(0, 75 - head.length)]);
          bytes += chunk.length;
          await file.write(chunk);
        }
      } finally {
        await file.close();
      }
      const storeStarted = performance.now();
      const description = await describeImage(temporary);
      const digest = hash.digest("hex");
      const fileName = `${digest}.${description.extension}`;
      await rename(temporary, path.join(this.dir, fileName));
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
      return { path: file, bytes: info.size, mimeType: mimeByExtension[match[2]], etag: `"${match[1]}"` };
    } catch {
      return null;
    }
  }

  async read(fileName: string): Promise<Buffer | null> {
    const found = await this.find(fileName);
    return found ? readFile(found.path) : null;
  }
}
