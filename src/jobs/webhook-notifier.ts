import type { Logger } from "pino";
import { ErrorCode, GatewayError, badInput } from "../errors.js";
import type { OutputAddressPolicy } from "../upstream/output-address.js";
import type { JobView } from "./job.js";
import type { JobNotifier } from "./job-notifier.js";
import { webhookUrlRefusal } from "./webhook-address.js";
import { WEBHOOK_EVENT, webhookBody } from "./webhook-body.js";
import type { WebhookDelivery } from "./webhook-sender.js";
import type { WebhookQueue } from "./webhook-queue.js";

export interface WebhookNotifierOptions {
  /** Unset: webhooks are refused at submission, as nothing could sign them. */
  secret: string | undefined;
  policy: OutputAddressPolicy;
  /** Where deliveries wait between attempts; undefined exactly when there is no secret. */
  queue: WebhookQueue | undefined;
  logger: Logger;
  /** How long resolving the URL's host may take at submission. */
  resolveTimeoutMs?: number;
}

/**
 * A finished job's webhook: the URL is checked when the job is submitted, and the signed job is handed to a
 * queue that delivers it, retries it and logs every attempt.
 */
export class WebhookNotifier implements JobNotifier {
  constructor(private readonly options: WebhookNotifierOptions) {}

  async check(url: string): Promise<void> {
    if (!this.options.secret || !this.options.queue) {
      throw new GatewayError(
        ErrorCode.WEBHOOKS_NOT_CONFIGURED,
        "this gateway sends no webhooks: it has no WEBHOOK_SECRET to sign them with; submit without webhookUrl and poll generationJob or subscribe to generationJobUpdated",
        { field: "webhookUrl" },
      );
    }
    const refusal = await webhookUrlRefusal(url, this.options.policy, this.options.resolveTimeoutMs ?? 5_000);
    if (refusal) {
      const hint = this.options.policy.allowed.has("private") ? "" : " (webhooks go to public addresses only unless the gateway sets WEBHOOK_ALLOW_PRIVATE=true)";
      throw badInput("webhookUrl", `webhookUrl is refused: ${refusal}${hint}`);
    }
  }

  finished(url: string, job: JobView): void {
    const { queue, logger } = this.options;
    if (!queue) {
      // check() refused every webhookUrl, so this is a job submitted to another replica that had a secret.
      logger.error({ jobId: job.id }, `job ${job.id} asked for a webhook, but this gateway has no WEBHOOK_SECRET to sign it with: not sent`);
      return;
    }
    const delivery: WebhookDelivery = {
      // One per job and event: a job reported finished twice (a worker retried after a crash) is delivered once.
      deliveryId: `${job.id}.${WEBHOOK_EVENT}`.replaceAll(":", "_"),
      jobId: job.id,
      url,
      body: webhookBody(job),
    };
    queue.enqueue(delivery).catch((error: unknown) => {
      logger.error({ err: error, jobId: job.id, deliveryId: delivery.deliveryId }, `webhook for job ${job.id} could not be queued: not sent`);
    });
  }
}
