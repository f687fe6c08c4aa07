import { createHash, timingSafeEqual } from "node:crypto";

const digest = (value: string): Buffer => createHash("sha256").update(value, "utf8").digest();

/**
 * Client tokens from the configuration. Comparing digests of equal length with timingSafeEqual, and
 * always against every token, keeps the time of a check independent of how close a guess came.
 */
export class AccessTokens {
  private readonly digests: Buffer[];

  constructor(tokens: readonly string[]) {
    this.digests = tokens.map(digest);
  }

  get required(): boolean {
    return this.digests.length > 0;
  }

  /** The index of the matching token (a stable client id), or -1. */
  match(authorization: string | undefined): number {
    const token = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "")?.[1];
    if (!token) return -1;
    const given = digest(token);
    let found = -1;
    this.digests.forEach((expected, index) => {
      if (timingSafeEqual(given, expected) && found < 0) found = index;
    });
    return found;
  }
}
