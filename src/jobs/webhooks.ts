import type { Logger } from "pino";
import type { GatewayConfig } from "../config/config.schema.js";
import type { GatewayMetrics } from "../observability/metrics.js";
import type { OutputAddressPolicy } from "../upstream/output-address.js";
import { webhookAddressPolicy } from "./webhook-address.js";
import { BullWebhookQueue } from "./webhook-bull-queue.js";
import { WebhookNotifier } from "./webhook-notifier.js";
import { InProcessWebhookQueue, type WebhookQueue } from "./webhook-queue.js";
import { WebhookSender } from "./webhook-sender.js";

export interface Webhooks {
  notifier: WebhookNotifier;
  /** Finishes the attempts under way; with Redis the waiting retries stay there for the next start. */
  close(): Promise<void>;
}

export interface WebhookParts {
  logger: Logger;
  metrics?: GatewayMetrics;
  /** The shared Redis: deliveries are then durable and shared by the replicas. */
  redisUrl: string | undefined;
  /** Instead of what WEBHOOK_ALLOW_PRIVATE gives (tests: names resolved without DNS). */
  addresses?: OutputAddressPolicy;
  now?: () => number;
  monotonicMs?: () => number;
}

/** The webhooks as the configuration asks: none without a secret, durable on Redis when there is one, else in process. */
export function buildWebhooks(config: GatewayConfig["webhooks"], { logger, metrics, redisUrl, addresses, now, monotonicMs }: WebhookParts): Webhooks {
  const policy = addresses ?? webhookAddressPolicy(config.allowPrivate);
  const { secret } = config;
  if (!secret) return { notifier: new WebhookNotifier({ secret, policy, queue: undefined, logger }), close: async () => undefined };
  const sender = new WebhookSender({ secret, policy, timeoutMs: config.timeoutMs, logger, metrics, now, monotonicMs });
  const retry = { attempts: config.attempts, backoffMs: config.backoffMs };
  const inProcess = new InProcessWebhookQueue(sender, retry, logger);
  const queue: WebhookQueue = redisUrl ? new BullWebhookQueue({ redisUrl, sender, retry, logger, fallback: inProcess }) : inProcess;
  logger.info(
    { attempts: retry.attempts, allowPrivate: config.allowPrivate },
    redisUrl
      ? "webhooks on: signed with WEBHOOK_SECRET, their retries kept in Redis (they survive a restart)"
      : "webhooks on: signed with WEBHOOK_SECRET, their retries kept in this process (without REDIS_URL a restart drops the waiting ones)",
  );
  return { notifier: new WebhookNotifier({ secret, policy, queue, logger }), close: () => queue.close() };
}
