import { createClient, type Client, type ClientOptions } from "graphql-ws";
import WebSocket from "ws";

/** The GraphQL URL's WebSocket twin: same host, same path. */
export function wsUrl(graphqlUrl: string): string {
  return graphqlUrl.replace(/^http/, "ws");
}

export interface Collected<T> {
  results: Array<{ data?: T | null; errors?: ReadonlyArray<{ message: string; extensions?: Record<string, unknown> }> }>;
  /** How the subscription ended: completed, or failed with what the client was given. */
  end: Promise<{ completed: true } | { error: unknown }>;
  stop(): void;
}

/** A graphql-ws client over `ws` (Node 20 has no WebSocket of its own), retrying nothing. */
export function wsClient(graphqlUrl: string, options: Partial<ClientOptions> = {}): Client {
  return createClient({ url: wsUrl(graphqlUrl), webSocketImpl: WebSocket, retryAttempts: 0, lazy: true, ...options });
}

/** Subscribes and keeps every result, until the server completes or the subscription fails. */
export function collect<T>(client: Client, query: string, variables: Record<string, unknown> = {}): Collected<T> {
  const results: Collected<T>["results"] = [];
  let stop = (): void => undefined;
  const end = new Promise<{ completed: true } | { error: unknown }>((resolve) => {
    stop = client.subscribe<T>(
      { query, variables },
      {
        next: (result) => results.push(result),
        error: (error: unknown) => resolve({ error }),
        complete: () => resolve({ completed: true }),
      },
    );
  });
  return { results, end, stop: () => stop() };
}

export interface ClientError {
  message: string;
  path?: readonly (string | number)[];
  locations?: unknown;
  extensions?: Record<string, unknown>;
}

/**
 * The errors a subscription ended with: graphql-ws sends a refusal before it runs as an `error`
 * message, and one from running it (its resolver threw) as a result with `errors`, then `complete`.
 */
export async function errorsOf(collected: Collected<unknown>): Promise<ClientError[]> {
  const end = await collected.end;
  if ("error" in end) return Array.isArray(end.error) ? (end.error as ClientError[]) : [];
  return collected.results.flatMap((result) => (result.errors ?? []) as ClientError[]);
}
