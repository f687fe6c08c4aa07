import { setImmediate as nextTurn } from "node:timers/promises";
import { afterEach, describe, expect, it, vi } from "vitest";
import { GatewayError } from "../../src/errors.js";
import { RateLimits } from "../../src/limits/rate-limits.js";
import { RefusalLimits } from "../../src/limits/refusal-limits.js";

async function codeOf(work: Promise<void>): Promise<string> {
  try {
    await work;
    return "OK";
  } catch (error) {
    expect(error).toBeInstanceOf(GatewayError);
    const refused = error as GatewayError;
    expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    return refused.code;
  }
}

describe("per-client call limits", () => {
  it("counts each client apart and refuses past the window's budget, saying when to come back", async () => {
    const limits = new RateLimits({ callsPerWindow: 2, windowSeconds: 60, imagesPerMinute: {} });
    const codes = [];
    for (const client of ["ip:1", "ip:1", "ip:2", "ip:1", "token:0"]) codes.push(await codeOf(limits.checkClient(client)));
    expect(codes).toEqual(["OK", "OK", "OK", "RATE_LIMITED", "OK"]);
  });

  it("is off when no budget is set", async () => {
    const limits = new RateLimits({ windowSeconds: 60, imagesPerMinute: {} });
    for (let i = 0; i < 50; i += 1) await limits.checkClient("ip:1");
  });
});

describe("images-per-minute budgets per model", () => {
  it("a batch takes its whole size, and a batch that does not fit is refused whole", async () => {
    const limits = new RateLimits({ windowSeconds: 60, imagesPerMinute: { "Kwai-Kolors/Kolors": 5 } });
    expect(await codeOf(limits.reserveImages("Kwai-Kolors/Kolors", 4))).toBe("OK");
    expect(await codeOf(limits.reserveImages("Kwai-Kolors/Kolors", 2))).toBe("RATE_LIMITED");
    expect(await codeOf(limits.reserveImages("Kwai-Kolors/Kolors", 1))).toBe("OK");
    // A model without a budget is not counted.
    expect(await codeOf(limits.reserveImages("Qwen/Qwen-Image", 4))).toBe("OK");
  });
});

describe("the refusal budget", () => {
  it("a client is spent once its refusals reach the budget, others are not, and 0 turns it off", async () => {
    const refusals = new RefusalLimits({ perMinute: 2 });
    refusals.count("ip:1");
    await nextTurn();
    expect(refusals.retryAfterSeconds("ip:1")).toBeUndefined();
    refusals.count("ip:1");
    await nextTurn();
    const retryAfter = refusals.retryAfterSeconds("ip:1");
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refusals.retryAfterSeconds("ip:2")).toBeUndefined();

    const off = new RefusalLimits({ perMinute: 0 });
    for (let i = 0; i < 10; i += 1) off.count("ip:1");
    await nextTurn();
    expect(off.retryAfterSeconds("ip:1")).toBeUndefined();
  });
});

describe("the images-per-minute budget, waited for (queued jobs)", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("waits for the minute to turn instead of refusing; a batch larger than the whole budget is refused at once; a wait can be aborted", async () => {
    vi.useFakeTimers();
    const limits = new RateLimits({ windowSeconds: 60, imagesPerMinute: { m: 2 } });
    await limits.reserveImages("m", 2);
    let reserved = false;
    const waiting = limits.reserveImagesPatiently("m", 1).then(() => (reserved = true));
    await vi.advanceTimersByTimeAsync(30_000);
    expect(reserved).toBe(false);
    await vi.advanceTimersByTimeAsync(31_000);
    await waiting;
    expect(reserved).toBe(true);

    expect(await codeOf(limits.reserveImagesPatiently("m", 3))).toBe("RATE_LIMITED");

    await limits.reserveImages("m", 1);
    const abort = new AbortController();
    const aborted = limits.reserveImagesPatiently("m", 1, abort.signal);
    const settled = aborted.catch((error: unknown) => error);
    abort.abort(new Error("stopping"));
    expect(await settled).toEqual(new Error("stopping"));
  });
});
