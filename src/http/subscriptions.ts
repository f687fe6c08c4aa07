import websocket from "@fastify/websocket";
import type { WebsocketHandler } from "@fastify/websocket";
import type { FastifyInstance, RouteHandlerMethod } from "fastify";
import {
  getOperationAST,
  GraphQLError,
  NoSchemaIntrospectionCustomRule,
  OperationTypeNode,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type GraphQLSchema,
} from "graphql";
import { CloseCode, handleProtocols, makeServer, type Context } from "graphql-ws";
import type { Extra } from "graphql-ws/use/@fastify/websocket";
import type { Logger } from "pino";
import type { SubscriptionContext } from "../context.js";
import { ErrorCode } from "../errors.js";
import type { Caller } from "../generation/generation.service.js";
import type { JobFeed } from "../jobs/job.js";
import { AccessTokens } from "../limits/access.js";
import { queryLimitChecker, type QueryLimits } from "../plugins/query-limits.plugin.js";
import { formatError } from "../schema/errors.js";

export interface SubscriptionOptions {
  /** The GraphQL path: WebSocket upgrades on it speak graphql-ws, every other GET stays Apollo's. */
  path: string;
  schema: GraphQLSchema;
  /** The job states a caller may see (with client tokens, only its own jobs'). */
  jobsFor: (caller: Caller) => JobFeed;
  /** Client tokens; when there are any, `connection_init` must carry one. */
  tokens: readonly string[];
  introspection: boolean;
  limits: QueryLimits;
  maxSocketsPerClient: number;
  maxSubscriptionsPerConnection: number;
  /** Apollo's handler for the GETs that are not upgrades. */
  httpHandler: RouteHandlerMethod;
  logger: Logger;
}

/**
 * A subscription document is a few hundred bytes; a message far past that is not one, and `ws` refuses
 * it (close 1009) before it is buffered whole.
 */
const MAX_MESSAGE_BYTES = 64 * 1024;

const GOING_AWAY = 1001;

/** How often each socket is pinged, and how long its pong may take: graphql-ws's own default. */
const KEEP_ALIVE_MS = 12_000;

/** Not one of graphql-ws's codes: the 4xxx range is the application's, and 4429 reads as HTTP's 429. */
export const TOO_MANY_CONNECTIONS = 4429;

type WsContext = Pick<Context<Record<string, unknown> | undefined, Extra>, "connectionParams" | "extra" | "subscriptions">;

function requestError(code: string, message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code } });
}

/** What `connection_init` carries, as the graphql-ws clients send it: `{ authorization: "Bearer <token>" }`. */
function authorizationOf(payload: Record<string, unknown> | undefined, header: string | undefined): string | undefined {
  const given = payload?.authorization ?? payload?.Authorization;
  // Non-browser clients can also set the upgrade request's header; the payload wins.
  return typeof given === "string" ? given : header;
}

/**
 * graphql-ws on the GraphQL path, beside Apollo (which serves no subscriptions), over the same schema.
 * It runs subscriptions only: queries and mutations stay on HTTP, where the call log, CSRF and the
 * upload rules are. Documents meet the same depth and complexity limits as over HTTP; errors leave
 * through the same `formatError`, so no stack or internal message does.
 */
export async function registerSubscriptions(fastify: FastifyInstance, options: SubscriptionOptions): Promise<void> {
  const { schema, jobsFor, logger, maxSocketsPerClient, maxSubscriptionsPerConnection } = options;
  const tokens = new AccessTokens(options.tokens);
  const checkLimits = queryLimitChecker(schema, options.limits);
  const rules = options.introspection ? specifiedRules : [...specifiedRules, NoSchemaIntrospectionCustomRule];
  const clientKeys = new WeakMap<object, string>();
  const feeds = new WeakMap<object, JobFeed>();
  const socketsPerClient = new Map<string, number>();

  /** What to run for a subscribe message, or why it is refused before it runs. */
  const subscriptionArgs = (ctx: WsContext, payload: { query: string; operationName?: string | null; variables?: Record<string, unknown> | null }): ExecutionArgs | GraphQLError[] => {
    // The one being subscribed is already counted.
    if (Object.keys(ctx.subscriptions).length > maxSubscriptionsPerConnection) {
      return [requestError(ErrorCode.RATE_LIMITED, `At most ${maxSubscriptionsPerConnection} subscriptions may run at once on one connection; complete one first`)];
    }
    let document: DocumentNode;
    try {
      document = parse(payload.query);
    } catch (error) {
      return [requestError("GRAPHQL_PARSE_FAILED", error instanceof GraphQLError ? error.message : "The document does not parse")];
    }
    const invalid = validate(schema, document, rules);
    if (invalid.length > 0) return invalid.map((error) => requestError("GRAPHQL_VALIDATION_FAILED", error.message));
    const operation = getOperationAST(document, payload.operationName);
    if (!operation) return [requestError("OPERATION_RESOLUTION_FAILURE", "Could not tell which operation to run: name one with operationName")];
    if (operation.operation !== OperationTypeNode.SUBSCRIPTION) {
      return [requestError("BAD_REQUEST", `Over WebSocket the gateway runs subscriptions only; send this ${operation.operation} over HTTP (POST ${options.path})`)];
    }
    try {
      checkLimits({ document, operation, operationName: payload.operationName, variables: payload.variables ?? undefined });
    } catch (error) {
      if (error instanceof GraphQLError) return [error];
      throw error;
    }
    const clientKey = clientKeys.get(ctx);
    const jobs = feeds.get(ctx);
    // Both are set when connection_init was accepted, which graphql-ws requires before any subscribe.
    if (clientKey === undefined || jobs === undefined) return [requestError(ErrorCode.UNAUTHENTICATED, "The connection was not initialised")];
    const contextValue: SubscriptionContext = { clientKey, jobs };
    return { schema, document, operationName: payload.operationName, variableValues: payload.variables, contextValue };
  };

  const server = makeServer<Record<string, unknown> | undefined, Extra>({
    schema,
    onConnect: (ctx: WsContext) => {
      const token = tokens.match(authorizationOf(ctx.connectionParams, ctx.extra.request.headers.authorization));
      if (tokens.required && token < 0) return false;
      const clientKey = token >= 0 ? `token:${token}` : `ip:${ctx.extra.request.ip}`;
      const open = socketsPerClient.get(clientKey) ?? 0;
      if (open >= maxSocketsPerClient) {
        ctx.extra.socket.close(TOO_MANY_CONNECTIONS, "Too many connections");
        return false;
      }
      socketsPerClient.set(clientKey, open + 1);
      clientKeys.set(ctx, clientKey);
      feeds.set(ctx, jobsFor({ authenticated: true, clientKey }));
      return true;
    },
    onClose: (ctx: WsContext) => {
      const clientKey = clientKeys.get(ctx);
      if (clientKey === undefined) return;
      clientKeys.delete(ctx);
      const left = (socketsPerClient.get(clientKey) ?? 1) - 1;
      if (left <= 0) socketsPerClient.delete(clientKey);
      else socketsPerClient.set(clientKey, left);
    },
    onSubscribe: (ctx: WsContext, _id, payload) => subscriptionArgs(ctx, payload),
    onError: (_ctx, _id, _payload, errors) => errors.map((error) => formatError(error.toJSON(), error)),
    onNext: (_ctx, _id, _payload, _args, result) => {
      if (!result.errors) return undefined;
      return {
        ...result,
        errors: result.errors.map((error) =>
          // Without a path it is the request's fault, not a field's: graphql-js refuses variables that do not
          // fit their types without a code, and Apollo would give this one.
          error.path === undefined
            ? formatError({ ...error.toJSON(), extensions: { code: ErrorCode.BAD_USER_INPUT } }, error)
            : formatError(error.toJSON(), error),
        ),
      };
    },
  });

  /**
   * graphql-ws's own @fastify/websocket handler, but logging through the application log rather than the
   * console, and with a close reason that never carries the failure's message.
   */
  const wsHandler: WebsocketHandler = (socket, request) => {
    const fail = (error: unknown, message: string): void => {
      logger.error({ err: error }, message);
      socket.close(CloseCode.InternalServerError, "Internal server error");
    };
    // A socket's errors (a message past MAX_MESSAGE_BYTES, a broken frame) close it; errorHandler logs them.
    let pong: NodeJS.Timeout | undefined;
    const ping = setInterval(() => {
      if (socket.readyState !== socket.OPEN) return;
      // No pong within the interval: the peer is gone without a close, and its subscriptions stop.
      pong = setTimeout(() => socket.terminate(), KEEP_ALIVE_MS);
      socket.once("pong", () => clearTimeout(pong));
      socket.ping();
    }, KEEP_ALIVE_MS);
    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (data) =>
          new Promise<void>((resolve, reject) => {
            if (socket.readyState !== socket.OPEN) return resolve();
            socket.send(data, (error) => (error ? reject(error) : resolve()));
          }),
        close: (code, reason) => socket.close(code, reason),
        onMessage: (handle) =>
          socket.on("message", (data: Buffer) => {
            handle(data.toString("utf8")).catch((error: unknown) => fail(error, "a graphql-ws message could not be handled"));
          }),
      },
      { socket, request },
    );
    socket.once("close", (code, reason) => {
      clearInterval(ping);
      clearTimeout(pong);
      closed(code, reason.toString("utf8")).catch((error: unknown) => logger.error({ err: error }, "a graphql-ws connection did not close cleanly"));
    });
  };

  await fastify.register(websocket, {
    options: { maxPayload: MAX_MESSAGE_BYTES, handleProtocols },
    errorHandler: (error, socket) => {
      logger.warn({ err: error }, "WebSocket connection failed");
      socket.terminate();
    },
    // At shutdown, "going away" rather than no code at all: a client reconnects, to another replica.
    preClose: (done) => {
      for (const socket of fastify.websocketServer.clients) socket.close(GOING_AWAY, "The gateway is shutting down");
      fastify.websocketServer.close();
      done();
    },
  });
  fastify.route({ method: "GET", url: options.path, handler: options.httpHandler, wsHandler });
}
