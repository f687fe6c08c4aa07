import { randomUUID } from "node:crypto";
import { newCallTrace, type CallTrace, type Provider } from "./call-log/call-trace.js";
import { maskApiKey } from "./observability/mask.js";
import type { ByteBudget } from "./limits/byte-budget.js";
import type { Caller } from "./generation/generation.service.js";

/** The calls one GraphQL request makes; the call-log plugin writes them when the response leaves. */
export class CallBook {
  readonly traces: CallTrace[] = [];

  constructor(
    private readonly provider: Provider,
    private readonly apiKey: string | undefined,
    private readonly now: () => number = Date.now,
    /** Told of each call as it opens, so that calls under way are known beyond their request. */
    private readonly onOpen?: (trace: CallTrace) => void,
  ) {}

  open(responseKey?: string, apiKey = this.apiKey): CallTrace {
    const trace = newCallTrace({ callId: randomUUID(), startedAt: this.now(), apiKeyMasked: maskApiKey(apiKey), provider: this.provider });
    trace.responseKey = responseKey;
    this.traces.push(trace);
    this.onOpen?.(trace);
    return trace;
  }
}

export interface GatewayContext {
  requestId: string;
  /** Epoch ms when the HTTP request arrived: the call log's total time runs from here. */
  receivedAt: number;
  /** Monotonic counterpart of `receivedAt`. */
  receivedAtMono: number;
  publicBaseUrl: string;
  clientIp: string;
  calls: CallBook;
  caller: Caller;
  /** What is left of `limits.maxInlineBytesPerResponse`: each `dataUrl` reserves its size before it is read. */
  inlineBytes: ByteBudget;
}
