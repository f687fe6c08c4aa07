import { createHash, type Hash } from "node:crypto";

/**
 * What a store learns of an image as its bytes pass: the sha256 its key is named by, its length, and its
 * first bytes (the call log's preview, and what the type and size are read from).
 */
export class ContentDigest {
  private readonly hash: Hash = createHash("sha256");
  private readonly heads: Buffer[] = [];
  private headBytes = 0;
  bytes = 0;

  constructor(private readonly keepHeadBytes: number) {}

  take(chunk: Buffer): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    if (this.headBytes < this.keepHeadBytes) {
      // A copy: the chunk's own buffer may be pooled and reused once it has been written.
      const part = Buffer.from(chunk.subarray(0, this.keepHeadBytes - this.headBytes));
      this.heads.push(part);
      this.headBytes += part.length;
    }
  }

  get head(): Buffer {
    return this.heads.length === 1 ? this.heads[0]! : Buffer.concat(this.heads);
  }

  hex(): string {
    return this.hash.digest("hex");
  }
}
