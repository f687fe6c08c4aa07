import { describe, expect, it } from "vitest";
import { CallBook } from "../../src/call-log/book.js";
import { finishCall } from "../../src/call-log/call-trace.js";
import { ErrorCode, GatewayError } from "../../src/errors.js";

const book = () => new CallBook("SIMULATOR", "sk-unit-test-FAKE-0000000000", () => 1_700_000_000_000);

describe("the call book ends every call exactly once", () => {
  it("a call that returns ends success, with its outcome", async () => {
    const calls = book();
    const { trace, outcome } = await calls.run("g1", undefined, async () => 42);
    expect(outcome).toBe(42);
    expect(trace).toMatchObject({ status: "success", error: null, responseKey: "g1", apiKeyMasked: "sk-u****0000" });
    expect(calls.traces).toEqual([trace]);
  });

  it("a GatewayError ends it failed with its code and message, and is thrown on", async () => {
    const calls = book();
    const error = new GatewayError(ErrorCode.BAD_USER_INPUT, "batchSize must be 1 to 4", { field: "input.batchSize" });
    await expect(calls.run("g", undefined, () => Promise.reject(error))).rejects.toBe(error);
    expect(calls.traces[0]).toMatchObject({ status: "failed", error: { code: "BAD_USER_INPUT", message: "batchSize must be 1 to 4" } });
  });

  it("anything else is the gateway's fault, without its message", async () => {
    const calls = book();
    await expect(calls.run("g", undefined, () => Promise.reject(new Error("/srv/secret/path exploded")))).rejects.toThrow();
    expect(calls.traces[0]!.error).toMatchObject({ code: "INTERNAL_SERVER_ERROR", message: "the gateway failed unexpectedly" });
  });

  it("a caller's own key is masked in its record instead of the gateway's", async () => {
    const { trace } = await book().run(undefined, "sk-callers-own-key-FAKE-9999", async () => undefined);
    expect(trace.apiKeyMasked).toBe("sk-c****9999");
  });

  it("a refused call is opened and ended failed at once", () => {
    const calls = book();
    const trace = calls.refuse("g2", { code: "BAD_REQUEST", message: "GET requests only support query operations" });
    expect(trace).toMatchObject({ status: "failed", responseKey: "g2", error: { code: "BAD_REQUEST" } });
  });

  it("a call ended already (cut at shutdown) keeps the end its line was written with", async () => {
    const calls = book();
    let release!: () => void;
    const running = calls.run("g", undefined, () => new Promise<void>((resolve) => (release = resolve)));
    const trace = calls.traces[0];
    expect(finishCall(trace!, { code: "SHUTDOWN_INTERRUPTED", message: "cut" })).toBe(true);
    release();
    await running;
    expect(trace).toMatchObject({ status: "failed", error: { code: "SHUTDOWN_INTERRUPTED" } });
    expect(finishCall(trace!)).toBe(false);
  });
});
