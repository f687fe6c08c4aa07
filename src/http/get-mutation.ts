import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction, onRequestHookHandler } from "fastify";
import { getOperationAST, OperationTypeNode, parse, type DocumentNode } from "graphql";
import { generationFields } from "../plugins/generation-fields.js";
import { replyWithGraphQLError } from "./graphql-error-reply.js";

export interface GetMutationOptions {
  /** Each generateImages the refused mutation named, by response key: each gets its failed line. */
  onRefused: (request: FastifyRequest, code: string, message: string, calls: { responseKeys: readonly string[]; operationName: string | null }) => void;
}

const CODE = "BAD_REQUEST";
const MESSAGE = "GET requests only support query operations, not mutation operations: send mutations by POST";

function parsed(query: string): DocumentNode | undefined {
  try {
    return parse(query);
  } catch {
    // Not a document: Apollo answers GRAPHQL_PARSE_FAILED as for any other.
    return undefined;
  }
}

function variablesOf(raw: unknown): Record<string, unknown> {
  if (typeof raw !== "string") return {};
  try {
    const value: unknown = JSON.parse(raw);
    return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/**
 * A mutation sent by GET is refused 405 here, before Apollo: Apollo would refuse it too, but a GET
 * without a CSRF header is turned away before its query is read, so the generateImages it carried would
 * get no call-log line. Refused in one place, every such call is logged, with or without the header.
 * Only GETs on the GraphQL route pay for this, and only those whose query mentions `mutation` are parsed.
 */
export function registerGetMutationRefusal(fastify: FastifyInstance, graphqlPath: string, options: GetMutationOptions): void {
  const refuseMutation: onRequestHookHandler = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    if (request.method !== "GET") return done();
    const search = request.query as Record<string, unknown> | undefined;
    const query = search?.query;
    if (typeof query !== "string" || !query.includes("mutation")) return done();
    const document = parsed(query);
    const operationName = typeof search?.operationName === "string" ? search.operationName : undefined;
    const operation = document ? getOperationAST(document, operationName) : null;
    if (operation?.operation !== OperationTypeNode.MUTATION) return done();
    options.onRefused(request, CODE, MESSAGE, {
      responseKeys: generationFields(document, operation, variablesOf(search?.variables)),
      operationName: operation.name?.value ?? null,
    });
    replyWithGraphQLError(reply.header("allow", "POST"), 405, CODE, MESSAGE);
  };

  fastify.addHook("onRoute", (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (route.url !== graphqlPath || !methods.includes("GET")) return;
    const existing = route.onRequest ? (Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest]) : [];
    route.onRequest = [...existing, refuseMutation];
  });
}
