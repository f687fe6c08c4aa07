import { describe, expect, it } from "vitest";
import { CallBook } from "../../src/call-log/book.js";
import type { CallLogRecord } from "../../src/call-log/record.js";
import { CallRecorder, type RequestMeta } from "../../src/call-log/recorder.js";

function recorder(lines: CallLogRecord[]): CallRecorder {
  return new CallRecorder({ write: (record) => void lines.push(record) }, { gatewayVersion: "test", replica: "unit" }, () => 0, { onWriteError: () => undefined }, { maxPromptChars: 4000, secrets: [] });
}

const meta: RequestMeta = { receivedAtMono: 0, requestId: "r1", operationName: null, clientIp: "127.0.0.1", clientKey: "ip:127.0.0.1" };

describe("calls cut at the shutdown deadline", () => {
  it("every call of a request not yet written is cut, a finished sibling of a running one included, once", async () => {
    const lines: CallLogRecord[] = [];
    const calls = recorder(lines);
    const book = new CallBook("SIMULATOR", undefined, Date.now, (trace) => calls.begin(trace, meta));
    // `a` finished, but its response waits for `b`, still running: neither response will be sent.
    await book.run("a", undefined, async () => "done");
    let release!: () => void;
    const b = book.run("b", undefined, () => new Promise<void>((resolve) => (release = resolve)));

    expect(calls.interruptRunning("SHUTDOWN_INTERRUPTED", () => "the gateway shut down before the call finished")).toBe(2);
    expect(lines.map((line) => [line.status, line.error_code])).toEqual([
      ["failed", "SHUTDOWN_INTERRUPTED"],
      ["failed", "SHUTDOWN_INTERRUPTED"],
    ]);

    // The running call ends after all, and the request's response is recorded: no second line.
    release();
    await b;
    calls.record(book.traces, meta);
    expect(lines).toHaveLength(2);
    expect(book.traces.map((trace) => trace.status)).toEqual(["failed", "failed"]);
  });
});
