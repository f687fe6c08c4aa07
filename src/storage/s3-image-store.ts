import { randomUUID } from "node:crypto";
import { Readable } from "node:stream";
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { ErrorCode, GatewayError } from "../errors.js";
import { describeImageHead } from "../generation/image-processing.js";
import { checkJobInputName, parseImageName, type ByteRange, type ImageStore, type StoredFile, type StreamedImage } from "./image-store.js";
import { ContentDigest } from "./content-digest.js";

export interface S3StoreOptions {
  bucket: string;
  region: string;
  /** For MinIO, R2, Ceph RGW and the like; AWS's own endpoint when absent. */
  endpoint?: string;
  /** `endpoint/bucket/key` instead of `bucket.endpoint/key`: what most self-hosted servers need. */
  forcePathStyle: boolean;
  /** Keys go under it (`<prefix>images/<sha256>.<ext>`). */
  prefix: string;
  /** Both or neither; neither lets the SDK's default chain find them (AWS_* variables, instance roles). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** How long a presigned URL works. */
  urlExpirySeconds?: number;
}

/**
 * Enough of a file's start to read its type and size: sharp and image-size find both within it for
 * every format the gateway keeps, and it is the most held in memory per image besides the upload's part.
 */
const HEAD_BYTES = 64 * 1024;

/** Far longer than any upload's completion takes to be copied to its final key. */
const TEMPORARY_GRACE_MS = 10 * 60_000;

/** Without a known length: parts of 5 MiB (S3's least), two in flight, so ~10 MiB at most is held per image. */
const PART_SIZE = 5 * 1024 * 1024;
const QUEUE_SIZE = 2;

/** An S3 error's name (NoSuchBucket, AccessDenied…) and status, never its request's signed headers. */
function describeS3Error(error: unknown): { name: string; status: number | undefined } {
  if (error instanceof S3ServiceException) return { name: error.name, status: error.$metadata.httpStatusCode };
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return { name: code ?? (error instanceof Error ? error.name : "unknown error"), status: undefined };
}

function notFound(error: unknown): boolean {
  const { name, status } = describeS3Error(error);
  return status === 404 || name === "NotFound" || name === "NoSuchKey";
}

/**
 * Output images in an S3-compatible bucket, so every replica serves every image.
 *
 * The key is the content's hash, known only once the last byte has passed, and S3 cannot rename. So an
 * image streams (multipart, through `Upload`) to a temporary key while it is hashed, and is then copied
 * inside the store to its final key and the temporary deleted. The copy moves no byte through the gateway;
 * the alternatives would hold the whole image in memory first, or give up content addressing.
 */
export class S3ImageStore implements ImageStore {
  readonly location: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private reason: string | undefined;
  private readonly urlExpirySeconds: number;

  constructor(options: S3StoreOptions) {
    this.urlExpirySeconds = options.urlExpirySeconds ?? 3600;
    this.bucket = options.bucket;
    this.prefix = options.prefix === "" || options.prefix.endsWith("/") ? options.prefix : `${options.prefix}/`;
    this.location = `s3://${this.bucket}/${this.prefix}images`;
    this.client = new S3Client({
      region: options.region,
      endpoint: options.endpoint,
      forcePathStyle: options.forcePathStyle,
      credentials: options.credentials,
      // The SDK's default CRC checksums on every request are refused by several S3-compatible servers.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
  }

  get unavailableReason(): string | undefined {
    return this.reason;
  }

  private key(fileName: string): string {
    return `${this.prefix}images/${fileName}`;
  }

  private failure(action: string, error: unknown): GatewayError {
    const { name, status } = describeS3Error(error);
    return new GatewayError(
      ErrorCode.STORAGE_UNAVAILABLE,
      `the image store (bucket ${this.bucket}) could not ${action}: ${name}${status ? ` (HTTP ${status})` : ""}`,
      { cause: error },
    );
  }

  /**
   * Checks the bucket. A missing or forbidden one does not stop the process: it stays up, not ready, and
   * says why (`/ready`, the log, STORAGE_UNAVAILABLE for generations), so an orchestrator shows the cause.
   */
  async init(startedAt = Date.now()): Promise<number> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (error) {
      const { name, status } = describeS3Error(error);
      this.reason =
        status === 404 || name === "NotFound" || name === "NoSuchBucket"
          ? `the bucket ${this.bucket} does not exist (S3_BUCKET)`
          : status === 403 || status === 401
            ? `access to the bucket ${this.bucket} is forbidden (HTTP ${status}): check S3_ACCESS_KEY_ID and the bucket's policy`
            : `the bucket ${this.bucket} cannot be reached: ${name}`;
      return 0;
    }
    this.reason = undefined;
    return this.removeTemporaries(startedAt);
  }

  /**
   * Removes temporaries an earlier run left, killed between an upload and its copy. Another replica's live
   * temporary exists only for that moment (an object appears once its upload completes), so anything older
   * than a grace period before this start is nobody's.
   */
  private async removeTemporaries(startedAt: number): Promise<number> {
    return this.removeOlderThan(`${this.prefix}tmp/`, startedAt - TEMPORARY_GRACE_MS);
  }

  /** Deletes the objects under `prefix` last written before `before` (epoch ms); returns how many. */
  private async removeOlderThan(prefix: string, before: number): Promise<number> {
    let removed = 0;
    let token: string | undefined;
    try {
      do {
        const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
        for (const object of page.Contents ?? []) {
          if (!object.Key || !object.LastModified || object.LastModified.getTime() >= before) continue;
          await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: object.Key }));
          removed++;
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch {
      // Leftovers cost storage, not correctness; the next start tries again.
    }
    return removed;
  }

  async putStream(source: AsyncIterable<Buffer>, size: { readonly bytes?: number } = {}): Promise<StreamedImage> {
    if (this.reason) throw new GatewayError(ErrorCode.STORAGE_UNAVAILABLE, `the generated images could not be stored: ${this.reason}`);
    const temporary = `${this.prefix}tmp/${randomUUID()}`;
    const digest = new ContentDigest(HEAD_BYTES);
    // The source's own failure (a download cut short) is the call's fault, whatever the SDK wraps it in.
    let sourceError: unknown;
    // A body that fails is not noticed by the SDK, which would wait for the rest forever: the request is cut.
    const abort = new AbortController();
    const iterator = source[Symbol.asyncIterator]();
    // The first chunk comes after the answer's headers: by then the source has said how long it is.
    const first = await iterator.next();
    async function* hashed(): AsyncGenerator<Buffer> {
      let done = first.done === true;
      try {
        for (let next = first; !next.done; next = await iterator.next()) {
          const chunk = next.value;
          digest.take(chunk);
          yield chunk;
        }
        done = true;
      } catch (error) {
        done = true;
        sourceError = error;
        abort.abort(error);
        throw error;
      } finally {
        // Ends the download when the upload gave up first.
        if (!done) await iterator.return?.(undefined);
      }
    }
    const body = Readable.from(hashed());
    // Its error is the source's, kept in sourceError and reported from there.
    body.on("error", () => undefined);
    try {
      try {
        await this.upload(temporary, body, size.bytes, abort);
      } catch (error) {
        // Rethrown as it came: the download's GatewayError, or whatever else the source threw.
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- it is the source's own error, already thrown once
        if (sourceError !== undefined) throw sourceError;
        if (error instanceof GatewayError) throw error;
        throw this.failure("store the generated images (the call ran at SiliconFlow and may have been billed)", error);
      } finally {
        body.destroy();
      }
      const storeStarted = performance.now();
      const head = digest.head;
      const description = await describeImageHead(head, digest.bytes <= head.length);
      const hash = digest.hex();
      const fileName = `${hash}.${description.extension}`;
      await this.publish(temporary, fileName, description.mimeType);
      const storeMs = performance.now() - storeStarted;
      return { hash, fileName, mimeType: description.mimeType, width: description.width, height: description.height, bytes: digest.bytes, head, storeMs };
    } finally {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: temporary })).catch(() => undefined);
    }
  }

  /**
   * With a known length one PutObject streams the body as it comes, holding nothing. Without one, S3
   * needs a multipart upload, whose parts (5 MiB at least) are gathered in memory before each is sent.
   */
  private async upload(key: string, body: Readable, length: number | undefined, abort: AbortController): Promise<void> {
    if (length !== undefined) {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentLength: length }), { abortSignal: abort.signal });
      return;
    }
    await new Upload({
      client: this.client,
      abortController: abort,
      params: { Bucket: this.bucket, Key: key, Body: body },
      partSize: PART_SIZE,
      queueSize: QUEUE_SIZE,
      leavePartsOnError: false,
    }).done();
  }

  /** Copies the temporary to its final key, unless the same picture is kept already (same hash, same bytes). */
  private async publish(temporary: string, fileName: string, mimeType: string): Promise<void> {
    if (await this.find(fileName)) return;
    try {
      await this.client.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key: this.key(fileName),
          CopySource: `${this.bucket}/${temporary.split("/").map(encodeURIComponent).join("/")}`,
          MetadataDirective: "REPLACE",
          ContentType: mimeType,
          // What a presigned URL serves with: the name never changes meaning.
          CacheControl: "public, max-age=31536000, immutable",
        }),
      );
    } catch (error) {
      throw this.failure("store the generated images (the call ran at SiliconFlow and may have been billed)", error);
    }
  }

  async find(fileName: string): Promise<StoredFile | null> {
    const parsed = parseImageName(fileName);
    if (!parsed) return null;
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(fileName) }));
      return { fileName, bytes: head.ContentLength ?? 0, mimeType: parsed.mimeType, etag: `"${parsed.hash}"` };
    } catch (error) {
      if (notFound(error)) return null;
      throw this.failure("look up an image", error);
    }
  }

  async open(file: StoredFile, range?: ByteRange): Promise<Readable> {
    try {
      const object = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.key(file.fileName), Range: range ? `bytes=${range.start}-${range.end}` : undefined }),
      );
      // In Node the SDK's body is the HTTP response itself, a Readable.
      return object.Body as Readable;
    } catch (error) {
      throw this.failure("read an image", error);
    }
  }

  async read(fileName: string): Promise<Buffer | null> {
    if (!parseImageName(fileName)) return null;
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(fileName) }));
      return object.Body ? Buffer.from(await object.Body.transformToByteArray()) : null;
    } catch (error) {
      if (notFound(error)) return null;
      throw this.failure("read an image", error);
    }
  }

  /** Signed here, without a request: a fresh one costs nothing, so each answer and redirect gets its own. */
  async presignedUrl(fileName: string): Promise<string> {
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: this.key(fileName) }), { expiresIn: this.urlExpirySeconds });
  }

  private jobInputKey(name: string): string {
    checkJobInputName(name);
    return `${this.prefix}job-inputs/${name}`;
  }

  async putJobInput(name: string, data: Buffer): Promise<void> {
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.jobInputKey(name), Body: data, ContentLength: data.length }));
    } catch (error) {
      throw this.failure("keep a job's input", error);
    }
  }

  removeJobInputsBefore(before: number): Promise<number> {
    return this.removeOlderThan(`${this.prefix}job-inputs/`, before);
  }

  async readJobInput(name: string): Promise<Buffer | null> {
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.jobInputKey(name) }));
      return object.Body ? Buffer.from(await object.Body.transformToByteArray()) : null;
    } catch (error) {
      if (notFound(error)) return null;
      throw this.failure("read a job's input", error);
    }
  }

  async deleteJobInput(name: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.jobInputKey(name) })).catch(() => undefined);
  }

  close(): void {
    this.client.destroy();
  }
}
