import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * Generated images, served back through pre-signed, expiring URLs like SiliconFlow's object store.
 * Images live in memory and are dropped when their URL expires, so a long-running simulator (the
 * gateway's no-key mode) does not grow without bound.
 */
export type Lookup =
  | { kind: "found"; png: Buffer }
  | { kind: "bad-signature" }
  | { kind: "expired" }
  | { kind: "missing" };

interface Stored {
  png: Buffer;
  timer: NodeJS.Timeout;
}

const idPattern = /^[a-f0-9]{32}$/;

export class OutputStore {
  private readonly images = new Map<string, Stored>();
  // A fresh secret per instance: URLs of one simulator are meaningless to another, as with real signing.
  private readonly secret = randomBytes(32);

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Stores the image and returns the path + query of its URL (`/files/<id>.png?expires=..&sig=..`). */
  put(png: Buffer): string {
    const id = randomBytes(16).toString("hex");
    const expires = this.now() + this.ttlMs;
    this.images.set(id, { png, timer: this.scheduleEviction(id, expires) });
    return `/files/${id}.png?expires=${expires}&sig=${this.sign(id, expires)}`;
  }

  get(id: string, expiresParam: string | null, sig: string | null): Lookup {
    if (!idPattern.test(id) || expiresParam === null || sig === null || !/^\d{1,16}$/.test(expiresParam)) {
      return { kind: "bad-signature" };
    }
    const expires = Number(expiresParam);
    const expected = Buffer.from(this.sign(id, expires), "utf8");
    const given = Buffer.from(sig, "utf8");
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { kind: "bad-signature" };
    if (this.now() >= expires) {
      // The timer may not have fired yet (or the clock was moved): expiry is decided by the URL.
      this.drop(id);
      return { kind: "expired" };
    }
    const stored = this.images.get(id);
    return stored ? { kind: "found", png: stored.png } : { kind: "missing" };
  }

  has(id: string): boolean {
    return this.images.has(id);
  }

  get size(): number {
    return this.images.size;
  }

  clear(): void {
    for (const stored of this.images.values()) clearTimeout(stored.timer);
    this.images.clear();
  }

  private scheduleEviction(id: string, expires: number): NodeJS.Timeout {
    // setTimeout cannot wait longer than 2^31-1 ms; a longer TTL re-arms the timer until it is due.
    const delay = Math.min(Math.max(expires - this.now(), 0), 2 ** 31 - 1);
    // unref: an eviction timer must not keep a test process or a stopping gateway alive.
    return setTimeout(() => {
      const stored = this.images.get(id);
      if (!stored) return;
      if (this.now() >= expires) this.images.delete(id);
      else stored.timer = this.scheduleEviction(id, expires);
    }, delay).unref();
  }

  private drop(id: string): void {
    const stored = this.images.get(id);
    if (!stored) return;
    clearTimeout(stored.timer);
    this.images.delete(id);
  }

  private sign(id: string, expires: number): string {
    return createHmac("sha256", this.secret).update(`${id}:${expires}`).digest("hex");
  }
}
