import type { Redis } from "ioredis";
import type { Logger } from "pino";

/** How long a starting gateway waits for Redis before it counts in its own process. */
const CONNECT_GRACE_MS = 3_000;
/** A command Redis has not answered by then fails: a hung Redis must not hang the calls that use it. */
export const SHARED_COMMAND_TIMEOUT_MS = 500;

/** What the `health` query reads of the shared state: whether it can be reached, and why not. */
export interface SharedStateHealth {
  available: boolean;
  /** Why it cannot be reached, in words safe to show (no password); null while it can. */
  reason: string | null;
}

const FAILURES: Record<string, string> = {
  ECONNREFUSED: "Redis refused the connection",
  ECONNRESET: "Redis reset the connection",
  ETIMEDOUT: "the connection to Redis timed out",
  ENOTFOUND: "Redis's host name does not resolve",
  EHOSTUNREACH: "Redis's host is unreachable",
};

/**
 * Why Redis failed, in words the `health` query may show to anyone: the error's code when it has one, else
 * ioredis's message, without the address (the network's layout is nobody's business).
 */
export function describeRedisFailure(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code && code in FAILURES) return `${FAILURES[code]} (${code})`;
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\[?[\w.:-]+\]?:\d{1,5}\b/g, "<address>").slice(0, 200);
}

/**
 * The one Redis client everything shared goes through (rate-limit counters, the result cache), and whether
 * it works. An outage is logged once when it starts and once when it ends, never per call: the calls go on
 * without it (the cache misses, the limits count in this process).
 */
export class SharedRedis {
  private up = false;
  private reason: string | null = "not connected yet";
  private outageLogged = false;
  private closing = false;

  constructor(
    readonly client: Redis,
    private readonly logger: Logger,
  ) {
    client.on("ready", () => this.succeeded());
    client.on("error", (error: Error) => this.failed(describeRedisFailure(error)));
    client.on("close", () => this.failed("the connection closed"));
  }

  health(): SharedStateHealth {
    return { available: this.up, reason: this.up ? null : this.reason };
  }

  /** A command failed (a timeout included, which no connection event reports), `reason` in words safe to show. */
  failed(reason: string): void {
    // Our own disconnect at shutdown is no outage.
    if (this.closing || (!this.up && this.outageLogged)) return;
    this.up = false;
    this.reason = reason;
    this.outageLogged = true;
    this.logger.error(
      `shared state (Redis) unavailable: ${reason}; generations go on, the result cache misses and the limits count in this process until it is back`,
    );
  }

  /** A command answered, or the connection is ready: an outage, if any, is over. */
  succeeded(): void {
    if (this.up || this.client.status !== "ready") return;
    this.up = true;
    this.reason = null;
    if (this.outageLogged) this.logger.info("shared state (Redis) reachable again: the result cache and the limits are shared again");
    this.outageLogged = false;
  }

  disconnect(): void {
    this.closing = true;
    this.client.disconnect();
  }
}

/**
 * Connects the shared Redis. Calls counted before the first connection fall back to this process's own
 * counters, so a gateway that took traffic at once would give each replica a fresh budget: it waits for
 * Redis, briefly. ioredis is loaded only when configured: it costs about 8 MB of memory in every gateway
 * otherwise.
 */
export async function connectSharedRedis(url: string, logger: Logger): Promise<SharedRedis> {
  const { Redis } = await import("ioredis");
  // No offline queue and a command timeout: with Redis away a command fails at once, or within the timeout.
  const client = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: SHARED_COMMAND_TIMEOUT_MS, lazyConnect: false });
  const shared = new SharedRedis(client, logger);
  if (!(await readyWithin(client, CONNECT_GRACE_MS))) shared.failed(`not ready ${CONNECT_GRACE_MS} ms after start`);
  return shared;
}

function readyWithin(client: Redis, ms: number): Promise<boolean> {
  if (client.status === "ready") return Promise.resolve(true);
  return new Promise((resolve) => {
    const finish = (ready: boolean) => {
      clearTimeout(timer);
      client.off("ready", onReady);
      resolve(ready);
    };
    const onReady = () => finish(true);
    const timer = setTimeout(() => finish(false), ms);
    client.once("ready", onReady);
  });
}
