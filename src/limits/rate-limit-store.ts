import type { EventEmitter } from "node:events";
import type { Logger } from "pino";

/** How long a starting gateway waits for Redis before it counts in its own process. */
const CONNECT_GRACE_MS = 3_000;

/**
 * The Redis client the rate limits share their counters through. Calls counted before the first
 * connection fall back to this process's own counters, so a gateway that took traffic at once would give
 * each replica a fresh budget: it waits for Redis, briefly. ioredis is loaded only when configured: it
 * costs about 8 MB of memory in every gateway otherwise.
 */
export async function connectRateLimitStore(url: string, logger: Logger): Promise<{ store: unknown; disconnect: () => void }> {
  const { Redis } = await import("ioredis");
  const redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false });
  redis.on("error", (error: Error) => logger.warn(`rate-limit store: ${error.message}`));
  if (!(await readyWithin(redis, CONNECT_GRACE_MS))) {
    logger.warn(`rate-limit store not ready after ${CONNECT_GRACE_MS} ms: counting in this process until it is`);
  }
  return { store: redis, disconnect: () => redis.disconnect() };
}

function readyWithin(client: EventEmitter & { status: string }, ms: number): Promise<boolean> {
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
