/**
 * Bytes one response may still grow by. Each large value reserves its size before it is built, so a
 * request asking for too much is refused at the first value past the budget, not after building it all.
 */
export class ByteBudget {
  private used = 0;

  constructor(readonly limit: number) {}

  /** Takes `bytes` from the budget; false (and nothing taken) when that would pass the limit. */
  reserve(bytes: number): boolean {
    if (this.used + bytes > this.limit) return false;
    this.used += bytes;
    return true;
  }

  get reserved(): number {
    return this.used;
  }
}
