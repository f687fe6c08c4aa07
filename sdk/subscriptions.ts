import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print, type DocumentNode } from "graphql";
import { createClient, type Client, type ClientOptions, type FormattedExecutionResult } from "graphql-ws";
import { ClientErrorCode, GatewayClientError, type GraphQLErrorEntry } from "./client.js";
import { GenerationJobUpdatedDocument, type GenerationJobUpdatedSubscription } from "./generated/graphql.js";

// Browsers have a WebSocket; Node 20 has none, so pass `webSocketImpl` (the `ws` package's WebSocket) there.

export interface GatewaySubscriptionsOptions {
  /** The GraphQL endpoint, `http(s)://…/graphql` or `ws(s)://…/graphql`: subscriptions share its path. */
  url: string;
  /** Sent in `connection_init` as `{ authorization: "Bearer <token>" }`. */
  token?: string;
  /** A WebSocket class where there is no global one (Node 20: `import WebSocket from "ws"`). */
  webSocketImpl?: unknown;
  /** Reconnect attempts after the connection drops (graphql-ws's own backoff); 5 unless said. */
  retryAttempts?: number;
  /** Anything else graphql-ws's `createClient` takes. */
  client?: Partial<ClientOptions>;
}

export type JobUpdate = GenerationJobUpdatedSubscription["generationJobUpdated"];

/** An async iterator of a subscription's results; `unsubscribe` (or `return`, as `break` calls it) ends it. */
export interface Subscription<T> extends AsyncIterableIterator<T> {
  return(): Promise<IteratorResult<T>>;
  unsubscribe(): void;
}

export interface GatewaySubscriptions {
  /** Any typed subscription document. Errors are thrown as GatewayClientError, with the server's code. */
  subscribe<TResult, TVariables extends Record<string, unknown>>(document: TypedDocumentNode<TResult, TVariables>, variables: TVariables): Subscription<TResult>;
  /** Every state of job `id`, from the current one; ends after SUCCEEDED, FAILED or CANCELLED. */
  watchJob(id: string): Subscription<JobUpdate>;
  /** Closes the connection, ending every subscription. */
  dispose(): Promise<void>;
}

/** The close codes the gateway gives a connection it refuses, as the codes its HTTP answers would carry. */
const CLOSE_CODES: Record<number, string> = {
  4401: "UNAUTHENTICATED",
  4403: "UNAUTHENTICATED",
  4429: "RATE_LIMITED",
};

function webSocketUrl(url: string): string {
  return url.replace(/^http(s?):/i, "ws$1:");
}

function isCloseEvent(value: unknown): value is { code: number; reason: string } {
  return typeof value === "object" && value !== null && typeof (value as { code?: unknown }).code === "number" && "reason" in value;
}

/** What graphql-ws hands the sink (the server's errors, a close, a failure) as a GatewayClientError. */
function toClientError(error: unknown): GatewayClientError {
  if (error instanceof GatewayClientError) return error;
  if (Array.isArray(error)) return fromErrors(error as GraphQLErrorEntry[]);
  if (isCloseEvent(error)) {
    const code = CLOSE_CODES[error.code] ?? ClientErrorCode.NETWORK_ERROR;
    return new GatewayClientError(`the subscription's connection closed (${error.code}${error.reason ? `: ${error.reason}` : ""})`, { code, cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new GatewayClientError(`the subscription failed: ${message}`, { code: ClientErrorCode.NETWORK_ERROR, cause: error });
}

function fromErrors(errors: readonly GraphQLErrorEntry[], data?: unknown): GatewayClientError {
  const first = errors[0];
  const extensions = first?.extensions ?? {};
  return new GatewayClientError(first?.message ?? "the subscription failed", {
    code: typeof extensions.code === "string" ? extensions.code : "INTERNAL_SERVER_ERROR",
    field: typeof extensions.field === "string" ? extensions.field : undefined,
    retryAfterSeconds: typeof extensions.retryAfterSeconds === "number" ? extensions.retryAfterSeconds : undefined,
    errors,
    data,
  });
}

function iterate<T>(client: Client, query: string, variables: Record<string, unknown>): Subscription<T> {
  const results = client.iterate<T>({ query, variables });
  const subscription: Subscription<T> = {
    async next(): Promise<IteratorResult<T>> {
      let step: IteratorResult<FormattedExecutionResult<T, unknown>>;
      try {
        step = await results.next();
      } catch (error) {
        throw toClientError(error);
      }
      if (step.done) return { done: true, value: undefined };
      const { data, errors } = step.value;
      if ((errors && errors.length > 0) || !data) throw fromErrors(errors ?? [], data);
      return { done: false, value: data };
    },
    async return(): Promise<IteratorResult<T>> {
      await results.return?.();
      return { done: true, value: undefined };
    },
    unsubscribe(): void {
      void results.return?.();
    },
    [Symbol.asyncIterator]: () => subscription,
  };
  return subscription;
}

const printed = new WeakMap<DocumentNode, string>();

/**
 * Subscriptions over one WebSocket (graphql-ws protocol), opened at the first subscription and closed
 * when the last one ends; typed by the generated documents.
 */
export function createGatewaySubscriptions(options: GatewaySubscriptionsOptions): GatewaySubscriptions {
  const client = createClient({
    url: webSocketUrl(options.url),
    lazy: true,
    retryAttempts: options.retryAttempts ?? 5,
    ...(options.token ? { connectionParams: { authorization: `Bearer ${options.token}` } } : {}),
    ...(options.webSocketImpl ? { webSocketImpl: options.webSocketImpl } : {}),
    // A refused connection (no token, too many) will be refused again: retrying it only costs time.
    shouldRetry: (event) => !(isCloseEvent(event) && event.code in CLOSE_CODES),
    ...options.client,
  });
  const text = (document: DocumentNode): string => {
    let query = printed.get(document);
    if (query === undefined) {
      query = print(document);
      printed.set(document, query);
    }
    return query;
  };
  return {
    subscribe<TResult, TVariables extends Record<string, unknown>>(document: TypedDocumentNode<TResult, TVariables>, variables: TVariables) {
      return iterate<TResult>(client, text(document), variables);
    },
    watchJob(id: string): Subscription<JobUpdate> {
      const updates = iterate<GenerationJobUpdatedSubscription>(client, text(GenerationJobUpdatedDocument), { id });
      const jobs: Subscription<JobUpdate> = {
        async next() {
          const step = await updates.next();
          return step.done ? step : { done: false, value: step.value.generationJobUpdated };
        },
        async return() {
          await updates.return();
          return { done: true, value: undefined };
        },
        unsubscribe: () => updates.unsubscribe(),
        [Symbol.asyncIterator]: () => jobs,
      };
      return jobs;
    },
    async dispose() {
      await client.dispose();
    },
  };
}
