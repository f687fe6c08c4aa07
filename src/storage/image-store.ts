import type { Readable } from "node:stream";

export interface StoredImage {
  hash: string;
  fileName: string;
  mimeType: string;
  width: number;
  height: number;
  bytes: number;
}

/** A kept image as the route serves it; the ETag is its hash, so every store and replica gives the same one. */
export interface StoredFile {
  fileName: string;
  bytes: number;
  mimeType: string;
  etag: string;
}

export type StreamedImage = StoredImage & { head: Buffer; storeMs: number };

/** Inclusive byte offsets, as HTTP's Range counts them. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Output images by content hash (`images/<sha256>.<ext>`): the same picture is kept once and its name
 * never changes meaning. The disk backend is the default; S3-compatible storage lets replicas share them.
 */
export interface ImageStore {
  /** Where the images are, for the application log: a folder, or `s3://bucket/prefix`. Never a credential. */
  readonly location: string;
  /** Why nothing can be stored now (set by `init`), else undefined; `/ready` and the generation service read it. */
  readonly unavailableReason: string | undefined;
  /** Makes the store ready, and removes what an earlier run left half-written before `startedAt`; returns how many. */
  init(startedAt?: number): Promise<number>;
  /**
   * Stores the chunks as they come while hashing them; never holds the whole image. `size.bytes`, when
   * the source has set it by its first chunk, is the length it announced.
   */
  putStream(source: AsyncIterable<Buffer>, size?: { readonly bytes?: number }): Promise<StreamedImage>;
  /** Looks up a served name; anything that is not exactly `<sha256>.<ext>` is unknown (no path tricks). */
  find(fileName: string): Promise<StoredFile | null>;
  /** The bytes of a found image, or of one range of them. */
  open(file: StoredFile, range?: ByteRange): Promise<Readable>;
  /** The whole image, for `dataUrl` (which the response must hold anyway). */
  read(fileName: string): Promise<Buffer | null>;
  /** A URL of the store itself that fetches the image for a while, for stores that have one (S3). */
  presignedUrl?(fileName: string): Promise<string>;
  /**
   * A queued job's prepared input, kept apart from the outputs (`job-inputs/`) until the job ends, so that
   * whichever replica runs the job reads it. `name` is `jobInputName`'s; anything else is refused.
   */
  putJobInput(name: string, data: Buffer): Promise<void>;
  /** The input's bytes, or null when it is gone. */
  readJobInput(name: string): Promise<Buffer | null>;
  /** Removes it; one already gone is no error. */
  deleteJobInput(name: string): Promise<void>;
  /**
   * Removes job inputs last written before `before` (epoch ms): those of jobs that can no longer run (their
   * record expired, or the in-process queue that held them is gone with its process). Returns how many.
   */
  removeJobInputsBefore(before: number): Promise<number>;
  /** Lets go of connections; at shutdown. */
  close(): void;
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

/** The hash and type a well-formed name carries, or undefined for any other name. */
export function parseImageName(fileName: string): { hash: string; mimeType: string } | undefined {
  const match = NAME.exec(fileName);
  return match ? { hash: match[1]!, mimeType: mimeByExtension[match[2]!]! } : undefined;
}

const JOB_INPUT = /^[0-9a-f-]{36}-\d{1,2}$/;

/** The stored name of input `index` of job `jobId` (a UUID). */
export function jobInputName(jobId: string, index: number): string {
  const name = `${jobId}-${index}`;
  checkJobInputName(name);
  return name;
}

/** Refuses any name that is not a job input's, so that no name reaches a path or key it should not. */
export function checkJobInputName(name: string): void {
  if (!JOB_INPUT.test(name)) throw new Error(`not a job input name: ${name.slice(0, 80)}`);
}
