import type { FastifyReply } from "fastify";

/** A refusal made before Apollo runs, shaped as GraphQL clients expect it, never as an HTML page. */
export function replyWithGraphQLError(
  reply: FastifyReply,
  status: number,
  code: string,
  message: string,
  extra: Record<string, unknown> = {},
): FastifyReply {
  return reply
    .code(status)
    .header("content-type", "application/json; charset=utf-8")
    .send({ errors: [{ message, extensions: { code, ...extra } }] });
}
