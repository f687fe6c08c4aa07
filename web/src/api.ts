import { ApolloClient, ApolloLink, InMemoryCache } from "@apollo/client";
import { SetContextLink } from "@apollo/client/link/context";
import UploadHttpLink from "apollo-upload-client/UploadHttpLink.mjs";

// The page speaks the same typed documents as the SDK (generated from schema.graphql): a schema change
// that breaks the page breaks its typecheck too.
import {
  GenerateImagesDocument,
  ModelsDocument,
  type GenerateImagesInput,
  type GenerateImagesMutation,
  type GuidanceParameter,
  type ModelsQuery,
} from "../../sdk/generated/graphql.js";

export type { GenerateImagesInput, GuidanceParameter };
export type ImageModel = ModelsQuery["models"][number];
export type GenerateImagesPayload = GenerateImagesMutation["generateImages"];
export type GeneratedImage = GenerateImagesPayload["images"][number];

/**
 * `accessToken` is asked for on every operation rather than once, so a token typed after the page
 * loaded applies to the very next call.
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
  return new ApolloClient({ link: ApolloLink.from([auth, http]), cache: new InMemoryCache() });
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
