import { randomUUID } from "node:crypto";
import { constants, createReadStream } from "node:fs";
import { access, mkdir, open, readdir, readFile, rename, stat, unlink, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { ErrorCode, GatewayError } from "../errors.js";
import { describeImage } from "../generation/image-processing.js";
import { checkJobInputName, parseImageName, type ByteRange, type ImageStore, type StoredFile, type StreamedImage } from "./image-store.js";
import { ContentDigest } from "./content-digest.js";

/** A file being written; renamed to its hash when complete. */
/** Enough for a 100-character base64 preview in the call log. */
const PREVIEW_HEAD_BYTES = 75;

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

/** Output images as files in `DATA_DIR/images`, written under a temporary name and renamed to their hash. */
export class DiskImageStore implements ImageStore {
  readonly dir: string;
  /** Queued jobs' prepared inputs, beside the images. */
  readonly jobInputDir: string;
  /** A folder that cannot be written fails the start instead: a local disk is this process's own to fix. */
  readonly unavailableReason = undefined;

  constructor(dataDir: string) {
    this.dir = path.resolve(dataDir, "images");
    this.jobInputDir = path.resolve(dataDir, "job-inputs");
  }

  /**
   * Creates the folder, and removes temporary files older than `startedAt`: a process killed in the
   * middle of writing (kill -9, OOM) leaves them, and nothing else would ever delete them. Returns
   * how many were removed.
   */
  async init(startedAt = Date.now()): Promise<number> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await access(this.dir, constants.W_OK);
    await mkdir(this.jobInputDir, { recursive: true, mode: 0o700 });
    // Newer ones may be another gateway's, writing into the same folder right now.
    return removeFilesBefore(this.dir, await readdir(this.dir), startedAt, (name) => TEMPORARY.test(name));
  }

  /** Writes the chunks to disk as they come while hashing them; the type and size come from the file's header. */
  async putStream(source: AsyncIterable<Buffer>): Promise<StreamedImage> {
    const temporary = path.join(this.dir, `.${randomUUID()}.tmp`);
    const digest = new ContentDigest(PREVIEW_HEAD_BYTES);
    try {
      const file = await open(temporary, "wx", 0o600).catch((error: unknown) => {
        throw storageError(error);
      });
      try {
        for await (const chunk of source) {
          digest.take(chunk);
          await file.write(chunk).catch((error: unknown) => {
            throw storageError(error);
          });
        }
      } finally {
        await file.close();
      }
      const storeStarted = performance.now();
      const description = await describeImage(temporary);
      const hash = digest.hex();
      const fileName = `${hash}.${description.extension}`;
      await rename(temporary, path.join(this.dir, fileName)).catch((error: unknown) => {
        throw storageError(error);
      });
      const storeMs = performance.now() - storeStarted;
      return { hash, fileName, mimeType: description.mimeType, width: description.width, height: description.height, bytes: digest.bytes, head: digest.head, storeMs };
    } catch (error) {
      await unlink(temporary).catch(() => undefined);
      throw error;
    }
  }

  get location(): string {
    return this.dir;
  }

  async find(fileName: string): Promise<StoredFile | null> {
    const parsed = parseImageName(fileName);
    if (!parsed) return null;
    try {
      const info = await stat(path.join(this.dir, fileName));
      if (!info.isFile()) return null;
      return { fileName, bytes: info.size, mimeType: parsed.mimeType, etag: `"${parsed.hash}"` };
    } catch {
      return null;
    }
  }

  async open(file: StoredFile, range?: ByteRange): Promise<Readable> {
    return createReadStream(path.join(this.dir, file.fileName), range ? { start: range.start, end: range.end } : {});
  }

  async read(fileName: string): Promise<Buffer | null> {
    const found = await this.find(fileName);
    return found ? readFile(path.join(this.dir, found.fileName)) : null;
  }

  async putJobInput(name: string, data: Buffer): Promise<void> {
    checkJobInputName(name);
    // Written whole under a temporary name, then renamed: a worker never reads half an input.
    const temporary = path.join(this.jobInputDir, `.${randomUUID()}.tmp`);
    try {
      await writeFile(temporary, data, { mode: 0o600 });
      await rename(temporary, path.join(this.jobInputDir, name));
    } catch (error) {
      await unlink(temporary).catch(() => undefined);
      throw storageError(error);
    }
  }

  async removeJobInputsBefore(before: number): Promise<number> {
    return removeFilesBefore(this.jobInputDir, await readdir(this.jobInputDir).catch(() => [] as string[]), before, () => true);
  }

  async readJobInput(name: string): Promise<Buffer | null> {
    checkJobInputName(name);
    return readFile(path.join(this.jobInputDir, name)).catch(() => null);
  }

  async deleteJobInput(name: string): Promise<void> {
    checkJobInputName(name);
    await unlink(path.join(this.jobInputDir, name)).catch(() => undefined);
  }

  close(): void {}
}

/** Deletes the files `names` of `dir` that `matches` and that were last written before `before` (epoch ms); returns how many. */
async function removeFilesBefore(dir: string, names: readonly string[], before: number, matches: (name: string) => boolean): Promise<number> {
  let removed = 0;
  for (const name of names) {
    if (!matches(name)) continue;
    const file = path.join(dir, name);
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile() || info.mtimeMs >= before) continue;
    await unlink(file).then(
      () => removed++,
      () => undefined,
    );
  }
  return removed;
}
