import type { FastifyReply } from "fastify";

/** A refusal made before Apollo runs, shaped as GraphQL clients expect it, never as an HTML page. */
export function replyWithGraphQLError(
  reply: FastifyReply,
  status: number,
  code: string,
  message: string,
  extra: Record<string, unknown> = {},
): FastifyReply {
  // A client that accepts the GraphQL-over-HTTP media type (Apollo Client 4 does) reads a non-2xx body
  // of that type as GraphQL errors with their codes, rather than as a bare network failure.
  const accept = String(reply.request.headers.accept ?? "");
  const type = accept.includes("application/graphql-response+json") ? "application/graphql-response+json" : "application/json";
  return reply
    .code(status)
    .header("content-type", `${type}; charset=utf-8`)
    .send({ errors: [{ message, extensions: { code, ...extra } }] });
}
