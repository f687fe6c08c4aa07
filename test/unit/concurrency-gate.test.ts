import { afterEach, describe, expect, it, vi } from "vitest";
import { ConcurrencyGate } from "../../src/limits/concurrency-gate.js";
import { ErrorCode, GatewayError } from "../../src/errors.js";

/** A piece of work the test finishes by hand. */
function deferred(): { promise: Promise<string>; finish: (value: string) => void; fail: (error: Error) => void } {
  let finish!: (value: string) => void;
  let fail!: (error: Error) => void;
  const promise = new Promise<string>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  return { promise, finish, fail };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("ConcurrencyGate", () => {
  it("runs at most `max` at once and starts waiters in arrival order as slots free up", async () => {
    const gate = new ConcurrencyGate({ max: 2, maxQueue: 10, queueTimeoutMs: 60_000 });
    const works = [deferred(), deferred(), deferred(), deferred()];
    const started: number[] = [];
    const results = works.map((work, i) =>
      gate.run(() => {
        started.push(i);
        return work.promise;
      }),
    );
    await Promise.resolve();
    expect(started).toEqual([0, 1]);
    expect(gate.inFlight).toBe(2);
    expect(gate.waiting).toBe(2);

    works[1]!.finish("b");
    await expect(results[1]).resolves.toBe("b");
    await vi.waitFor(() => expect(started).toEqual([0, 1, 2]));
    // The slot passed to the waiter: still two running, one waiting.
    expect(gate.inFlight).toBe(2);
    expect(gate.waiting).toBe(1);

    works[0]!.fail(new Error("upstream said no"));
    await expect(results[0]).rejects.toThrow("upstream said no");
    await vi.waitFor(() => expect(started).toEqual([0, 1, 2, 3]));

    works[2]!.finish("c");
    works[3]!.finish("d");
    await expect(Promise.all([results[2], results[3]])).resolves.toEqual(["c", "d"]);
    expect(gate.inFlight).toBe(0);
    expect(gate.waiting).toBe(0);
  });

  it("refuses at once with RATE_LIMITED when the queue is full, without running the work", async () => {
    const gate = new ConcurrencyGate({ max: 1, maxQueue: 1, queueTimeoutMs: 60_000 });
    const running = deferred();
    const first = gate.run(() => running.promise);
    const second = gate.run(() => Promise.resolve("queued"));
    let ran = false;
    const third = gate.run(() => {
      ran = true;
      return Promise.resolve("never");
    });
    const refusal = await third.catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(GatewayError);
    expect((refusal as GatewayError).code).toBe(ErrorCode.RATE_LIMITED);
    expect((refusal as GatewayError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(ran).toBe(false);
    running.finish("a");
    await expect(Promise.all([first, second])).resolves.toEqual(["a", "queued"]);
  });

  it("refuses a waiter after queueTimeoutMs and takes it out of the queue", async () => {
    vi.useFakeTimers();
    const gate = new ConcurrencyGate({ max: 1, maxQueue: 5, queueTimeoutMs: 1_000 });
    const running = deferred();
    const first = gate.run(() => running.promise);
    let ran = false;
    const waiting = gate.run(() => {
      ran = true;
      return Promise.resolve("late");
    });
    const outcome = waiting.catch((error: unknown) => error);
    expect(gate.waiting).toBe(1);
    await vi.advanceTimersByTimeAsync(999);
    expect(gate.waiting).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    const refusal = await outcome;
    expect((refusal as GatewayError).code).toBe(ErrorCode.RATE_LIMITED);
    expect((refusal as GatewayError).message).toContain("waited 1000 ms");
    expect(gate.waiting).toBe(0);
    // The timed-out waiter must not take the slot when it frees.
    running.finish("a");
    await first;
    expect(ran).toBe(false);
    expect(gate.inFlight).toBe(0);
  });

  it("a waiter that got its slot is not refused by its old timer", async () => {
    vi.useFakeTimers();
    const gate = new ConcurrencyGate({ max: 1, maxQueue: 5, queueTimeoutMs: 1_000 });
    const running = deferred();
    const first = gate.run(() => running.promise);
    const second = deferred();
    const waiting = gate.run(() => second.promise);
    await vi.advanceTimersByTimeAsync(500);
    running.finish("a");
    await first;
    await vi.advanceTimersByTimeAsync(5_000);
    second.finish("b");
    await expect(waiting).resolves.toBe("b");
  });

  it("a patient waiter waits past maxQueue and queueTimeoutMs, after the impatient ones, and leaves on abort", async () => {
    vi.useFakeTimers();
    const gate = new ConcurrencyGate({ max: 1, maxQueue: 0, queueTimeoutMs: 1_000 });
    const first = deferred();
    const running = gate.run(() => first.promise);
    const started: string[] = [];
    const patient = gate.runPatiently(async () => {
      started.push("patient");
      return "p";
    });
    const aborted = new AbortController();
    const leaving = gate.runPatiently(async () => "never", aborted.signal);
    expect(gate.waiting).toBe(2);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(started).toEqual([]);
    aborted.abort(new Error("stopping"));
    await expect(leaving).rejects.toThrow("stopping");
    first.finish("a");
    await expect(running).resolves.toBe("a");
    await expect(patient).resolves.toBe("p");
    expect(gate.inFlight).toBe(0);
    expect(gate.waiting).toBe(0);
  });
});
