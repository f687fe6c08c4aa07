import { createHmac } from "node:crypto";

/** The headers a receiver reads to check a webhook; their names are part of the public contract. */
export const WebhookHeader = {
  TIMESTAMP: "x-gateway-timestamp",
  SIGNATURE: "x-gateway-signature",
  /** The same on every retry of one webhook, so a receiver can tell a retry from a new event. */
  DELIVERY: "x-gateway-delivery",
} as const;

/**
 * `sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`. The timestamp is signed with the body, so a
 * receiver that refuses old timestamps cannot be sent a captured webhook again later.
 */
export function webhookSignature(secret: string, timestampSeconds: number, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestampSeconds}.${body}`).digest("hex")}`;
}
