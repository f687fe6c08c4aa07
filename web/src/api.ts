import { ApolloClient, ApolloLink, InMemoryCache } from "@apollo/client";
import { SetContextLink } from "@apollo/client/link/context";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { isSubscriptionOperation } from "@apollo/client/utilities";
import UploadHttpLink from "apollo-upload-client/UploadHttpLink.mjs";
import { createClient as createWsClient } from "graphql-ws";

// The page speaks the same typed documents as the SDK (generated from schema.graphql): a schema change
// that breaks the page breaks its typecheck too.
import {
  CancelGenerationDocument,
  GenerateImagesDocument,
  GenerationJobDocument,
  GenerationJobUpdatedDocument,
  ModelsDocument,
  SubmitGenerationDocument,
  type GenerateImagesInput,
  type GenerateImagesMutation,
  type GenerationJobUpdatedSubscription,
  type GuidanceParameter,
  type ModelsQuery,
} from "../../sdk/generated/graphql.js";

export type { GenerateImagesInput, GuidanceParameter };
export type ImageModel = ModelsQuery["models"][number];
export type GenerateImagesPayload = GenerateImagesMutation["generateImages"];
export type GeneratedImage = GenerateImagesPayload["images"][number];
export type Job = GenerationJobUpdatedSubscription["generationJobUpdated"];

/** The GraphQL path's WebSocket twin on this page's host: ws: under http:, wss: under https:. */
function webSocketUrl(endpoint: string): string {
  const url = new URL(endpoint, window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.href;
}

/**
 * Queries and mutations over HTTP (multipart when they carry files), subscriptions over WebSocket
 * (graphql-ws, same path). `accessToken` is asked for on every operation rather than once, so a token
 * typed after the page loaded applies to the very next call; the WebSocket opens per subscription and
 * closes after it, so its `connection_init` carries the token of the moment too.
 */
export function createClient(endpoint = "/graphql", accessToken: () => string = () => ""): ApolloClient {
  const auth = new SetContextLink((previous) => {
    const token = accessToken();
    if (token === "") return {};
    const headers = previous.headers as Record<string, string> | undefined;
    return { headers: { ...headers, authorization: `Bearer ${token}` } };
  });
  const http = new UploadHttpLink({
    uri: endpoint,
    // The gateway keeps Apollo's CSRF protection on: multipart posts need a header a plain form cannot send.
    headers: { "apollo-require-preflight": "true" },
  });
  const ws = new GraphQLWsLink(
    createWsClient({
      url: webSocketUrl(endpoint),
      lazy: true,
      // A WebSocket refused twice (a proxy that does not pass upgrades) is given up: the page polls instead.
      retryAttempts: 2,
      connectionParams: () => {
        const token = accessToken();
        return token === "" ? {} : { authorization: `Bearer ${token}` };
      },
    }),
  );
  const link = ApolloLink.split(
    ({ query }) => isSubscriptionOperation(query),
    ws,
    ApolloLink.from([auth, http]),
  );
  return new ApolloClient({ link, cache: new InMemoryCache() });
}

export async function fetchModels(client: ApolloClient): Promise<ImageModel[]> {
  // Availability follows the gateway's key and its upstream probe: always ask, never reuse a cached list.
  const result = await client.query({ query: ModelsDocument, fetchPolicy: "network-only" });
  return result.data?.models ?? [];
}

export async function generateImages(client: ApolloClient, input: GenerateImagesInput, signal: AbortSignal): Promise<GenerateImagesPayload> {
  const result = await client.mutate({
    mutation: GenerateImagesDocument,
    variables: { input },
    // Each call is unique: nothing to gain from normalising its result into the cache.
    fetchPolicy: "no-cache",
    context: { fetchOptions: { signal } },
  });
  if (!result.data) throw new Error("The gateway answered without a result.");
  return result.data.generateImages;
}

export async function submitGeneration(client: ApolloClient, input: GenerateImagesInput, signal: AbortSignal): Promise<Job> {
  const result = await client.mutate({ mutation: SubmitGenerationDocument, variables: { input }, fetchPolicy: "no-cache", context: { fetchOptions: { signal } } });
  if (!result.data) throw new Error("The gateway answered without a job.");
  return result.data.submitGeneration;
}

export async function fetchJob(client: ApolloClient, id: string): Promise<Job | null> {
  const result = await client.query({ query: GenerationJobDocument, variables: { id }, fetchPolicy: "network-only" });
  return result.data?.generationJob ?? null;
}

export async function cancelJob(client: ApolloClient, id: string): Promise<void> {
  await client.mutate({ mutation: CancelGenerationDocument, variables: { id }, fetchPolicy: "no-cache" });
}

export interface JobWatcher {
  next(job: Job): void;
  error(error: unknown): void;
  complete(): void;
}

/** Each state of job `id`, live; returns the unsubscribe. */
export function watchJob(client: ApolloClient, id: string, watcher: JobWatcher): () => void {
  const subscription = client.subscribe({ query: GenerationJobUpdatedDocument, variables: { id }, fetchPolicy: "no-cache" }).subscribe({
    next: (result) => {
      if (result.error) watcher.error(result.error);
      else if (result.data) watcher.next(result.data.generationJobUpdated);
    },
    error: (error: unknown) => watcher.error(error),
    complete: () => watcher.complete(),
  });
  return () => subscription.unsubscribe();
}
