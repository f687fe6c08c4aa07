import type { CallBook } from "./call-log/book.js";
import type { ByteBudget } from "./limits/byte-budget.js";
import type { Caller } from "./generation/generation.service.js";
import type { JobFeed } from "./jobs/job.js";

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

/** What a subscription over WebSocket runs with: who asked, and where job states come from. */
export interface SubscriptionContext {
  /** The caller's per-client key (`token:<n>`, else `ip:<address>`), as for HTTP calls. */
  clientKey: string;
  jobs: JobFeed;
}
