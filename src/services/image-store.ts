import { createHash, randomUUID } from "node:crypto";
import { constants } from "node:fs";
import { access, mkdir, readFile, rename, stat, unlink, writeFile } from "node:fs/promises";
import path from "node:path";
import type { ImageDescription } from "./image-processing.js";

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

  async put(data: Buffer, description: ImageDescription): Promise<StoredImage> {
    const hash = createHash("sha256").update(data).digest("hex");
    const fileName = `${hash}.${description.extension}`;
    const target = path.join(this.dir, fileName);
    const exists = await stat(target).then(
      (s) => s.size === data.length,
      () => false,
    );
    if (!exists) {
      // Write aside and rename: a reader never sees half a file, and two writers of one hash agree.
      const temporary = path.join(this.dir, `.${fileName}.${randomUUID()}.tmp`);
      try {
        await writeFile(temporary, data, { mode: 0o600 });
        await rename(temporary, target);
      } catch (error) {
        await unlink(temporary).catch(() => undefined);
        throw error;
      }
    }
    return { hash, fileName, mimeType: description.mimeType, width: description.width, height: description.height, bytes: data.length };
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
