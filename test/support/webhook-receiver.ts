import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedWebhook {
  path: string;
  headers: IncomingHttpHeaders;
  /** The raw body, as a receiver must check it (before any JSON parsing). */
  body: string;
}

export interface WebhookReceiver {
  /** `http://127.0.0.1:<port>` */
  url: string;
  received: ReceivedWebhook[];
  /** How the next requests are answered, in turn; the last one repeats. Default 204. */
  answer(...replies: Array<number | ((response: ServerResponse) => void)>): void;
  close(): Promise<void>;
}

/** A webhook receiver on loopback that records every request and answers as it is told. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  let replies: Array<number | ((response: ServerResponse) => void)> = [204];
  const received: ReceivedWebhook[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      received.push({ path: request.url ?? "", headers: request.headers, body: Buffer.concat(chunks).toString("utf8") });
      const reply = replies.length > 1 ? replies.shift()! : replies[0]!;
      if (typeof reply === "function") return reply(response);
      response.statusCode = reply;
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    answer(...next) {
      replies = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * What a receiver does with node:crypto alone: recompute the HMAC of "<timestamp>.<raw body>" and compare in
 * constant time, and refuse a timestamp older than five minutes.
 */
export function verifySignature(secret: string, webhook: ReceivedWebhook, nowSeconds = Math.floor(Date.now() / 1000)): boolean {
  const timestamp = String(webhook.headers["x-gateway-timestamp"]);
  const signature = String(webhook.headers["x-gateway-signature"]);
  const expected = `sha256=${createHmac("sha256", secret).update(`${timestamp}.${webhook.body}`).digest("hex")}`;
  const fresh = Math.abs(nowSeconds - Number(timestamp)) <= 300;
  return fresh && signature.length === expected.length && timingSafeEqual(Buffer.from(signature), Buffer.from(expected));
}
