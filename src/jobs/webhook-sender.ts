import got, { RequestError } from "got";
import type { Logger } from "pino";
import { checkOutputUrl, guardedLookup, refusalIn, type OutputAddressPolicy } from "../upstream/output-address.js";
import type { GatewayMetrics } from "../observability/metrics.js";
import { GATEWAY_VERSION } from "../version.js";
import { shownWebhookUrl, webhookWords } from "./webhook-address.js";
import { WebhookHeader, webhookSignature } from "./webhook-signature.js";

/** One webhook to deliver: what a queue keeps between attempts (plain data, so Redis can keep it too). */
export interface WebhookDelivery {
  /** Sent as X-Gateway-Delivery, the same on every attempt. */
  deliveryId: string;
  jobId: string;
  url: string;
  /** The JSON body, signed as it is sent. */
  body: string;
}

export interface AttemptOutcome {
  delivered: boolean;
  /** No later attempt can do better: the address is refused. */
  final: boolean;
  /** The receiver's HTTP status, when it answered. */
  status?: number;
  /** Why it failed, in words for the log. */
  reason?: string;
  durationMs: number;
}

export interface WebhookSenderOptions {
  secret: string;
  policy: OutputAddressPolicy;
  timeoutMs: number;
  logger: Logger;
  metrics?: Pick<GatewayMetrics, "webhookAttempt">;
  /** Epoch ms, for the signed timestamp. */
  now?: () => number;
  monotonicMs?: () => number;
}

const USER_AGENT = `siliconflow-image-gateway/${GATEWAY_VERSION} (webhooks)`;
const MAX_REDIRECTS = 3;

/**
 * Makes one attempt at a webhook and logs it. The timestamp and signature are made per attempt, so a
 * receiver's freshness window holds for retries too. The address policy is applied to the URL, to every
 * address its host resolves to when connecting (so a name rebound to a private address since submission
 * is refused), and to every redirect. Only the status is read of the answer; its body is never taken in.
 */
export class WebhookSender {
  private readonly lookup: ReturnType<typeof guardedLookup>;
  private readonly now: () => number;
  private readonly monotonicMs: () => number;

  constructor(private readonly options: WebhookSenderOptions) {
    this.lookup = guardedLookup(options.policy);
    this.now = options.now ?? Date.now;
    this.monotonicMs = options.monotonicMs ?? (() => performance.now());
  }

  async attempt(delivery: WebhookDelivery, attempt: number, attempts: number): Promise<AttemptOutcome> {
    const started = this.monotonicMs();
    const outcome = await this.post(delivery).then(
      (partial) => ({ ...partial, durationMs: Math.round(this.monotonicMs() - started) }),
      // post() settles every failure itself; this is only a backstop against a fault in it.
      (error: unknown) => ({ delivered: false, final: false, reason: String(error), durationMs: Math.round(this.monotonicMs() - started) }),
    );
    this.log(delivery, attempt, attempts, outcome);
    return outcome;
  }

  private async post(delivery: WebhookDelivery): Promise<Omit<AttemptOutcome, "durationMs">> {
    const literal = checkOutputUrl(delivery.url, this.options.policy.allowed);
    if (literal) return { delivered: false, final: true, reason: `refused: ${webhookWords(literal.reason)}` };
    const timestamp = Math.floor(this.now() / 1000);
    const stream = got.stream.post(delivery.url, {
      body: delivery.body,
      headers: {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        [WebhookHeader.TIMESTAMP]: String(timestamp),
        [WebhookHeader.SIGNATURE]: webhookSignature(this.options.secret, timestamp, delivery.body),
        [WebhookHeader.DELIVERY]: delivery.deliveryId,
      },
      timeout: { request: this.options.timeoutMs },
      retry: { limit: 0 },
      throwHttpErrors: false,
      maxRedirects: MAX_REDIRECTS,
      dnsLookup: this.lookup,
      hooks: {
        beforeRedirect: [
          (next) => {
            const refused = checkOutputUrl(String(next.url), this.options.policy.allowed);
            if (refused) throw refused;
          },
        ],
      },
    });
    try {
      const status = await new Promise<number>((resolve, reject) => {
        stream.once("response", (response: { statusCode: number }) => resolve(response.statusCode));
        stream.once("error", reject);
      });
      const delivered = status >= 200 && status < 300;
      return { delivered, final: false, status, reason: delivered ? undefined : `the receiver answered HTTP ${status}` };
    } catch (error) {
      const refused = refusalIn(error);
      if (refused) return { delivered: false, final: true, reason: `refused: ${webhookWords(refused.reason)}` };
      return { delivered: false, final: false, reason: describeFailure(error, this.options.timeoutMs) };
    } finally {
      // The answer's body is not wanted; a receiver that streams one must not hold the socket.
      stream.on("error", () => undefined);
      stream.destroy();
    }
  }

  private log(delivery: WebhookDelivery, attempt: number, attempts: number, outcome: AttemptOutcome): void {
    const fields = {
      deliveryId: delivery.deliveryId,
      jobId: delivery.jobId,
      url: shownWebhookUrl(delivery.url),
      attempt,
      attempts,
      status: outcome.status ?? null,
      durationMs: outcome.durationMs,
    };
    const last = outcome.final || attempt >= attempts;
    this.options.metrics?.webhookAttempt(outcome.delivered ? "delivered" : outcome.final ? "refused" : last ? "given_up" : "retried");
    const where = `webhook ${delivery.deliveryId} for job ${delivery.jobId} to ${fields.url}`;
    if (outcome.delivered) {
      this.options.logger.info(fields, `${where} delivered (HTTP ${outcome.status}, attempt ${attempt} of ${attempts}, ${outcome.durationMs} ms)`);
    } else if (last) {
      this.options.logger.error(
        { ...fields, reason: outcome.reason },
        `${where} not delivered, given up after attempt ${attempt} of ${attempts}: ${outcome.reason ?? "unknown failure"}`,
      );
    } else {
      this.options.logger.warn({ ...fields, reason: outcome.reason }, `${where} attempt ${attempt} of ${attempts} failed, will retry: ${outcome.reason ?? "unknown failure"}`);
    }
  }
}

function describeFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof RequestError) {
    if (error.name === "TimeoutError") return `no answer within ${timeoutMs} ms`;
    if (error.name === "MaxRedirectsError") return `more than ${MAX_REDIRECTS} redirects`;
    return error.code ? `${error.code}: ${error.message}` : error.message;
  }
  return error instanceof Error ? error.message : String(error);
}
