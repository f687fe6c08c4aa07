import type { CallBook } from "./call-log/book.js";
import type { ByteBudget } from "./limits/byte-budget.js";
import type { Caller } from "./generation/generation.service.js";

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
