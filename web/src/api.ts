import { ApolloClient, InMemoryCache, gql, type TypedDocumentNode } from "@apollo/client";
import UploadHttpLink from "apollo-upload-client/UploadHttpLink.mjs";

export type GuidanceParameter = "GUIDANCE_SCALE" | "CFG" | "NONE";

export interface NumberRange {
  min: number;
  max: number;
  default: number | null;
}

export interface ImageModel {
  id: string;
  displayName: string;
  kind: "TEXT_TO_IMAGE" | "IMAGE_EDIT";
  minInputImages: number;
  maxInputImages: number;
  imageSizes: string[];
  defaultImageSize: string | null;
  maxBatchSize: number;
  guidance: GuidanceParameter;
  guidanceRange: NumberRange | null;
  steps: NumberRange;
  negativePrompt: boolean;
  acceptsSeed: boolean;
  available: boolean;
  source: "BUILTIN" | "CONFIG" | "UPSTREAM";
}

export interface GenerateImagesInput {
  model: string;
  prompt: string;
  negativePrompt?: string;
  imageSize?: string;
  batchSize?: number;
  seed?: number;
  numInferenceSteps?: number;
  guidanceScale?: number;
  cfg?: number;
  images?: File[];
}

export interface GeneratedImage {
  index: number;
  url: string;
  width: number;
  height: number;
  mimeType: string;
  bytes: number;
}

export interface GenerateImagesPayload {
  callId: string;
  provider: "SILICONFLOW" | "SIMULATOR";
  model: string;
  seed: number | null;
  images: GeneratedImage[];
  timings: { inferenceSeconds: number | null; totalMs: number };
}

export const MODELS: TypedDocumentNode<{ models: ImageModel[] }, Record<string, never>> = gql`
  query WebModels {
    models {
      id
      displayName
      kind
      minInputImages
      maxInputImages
      imageSizes
      defaultImageSize
      maxBatchSize
      guidance
      guidanceRange { min max default }
      steps { min max default }
      negativePrompt
      acceptsSeed
      available
      source
    }
  }
`;

export const GENERATE_IMAGES: TypedDocumentNode<{ generateImages: GenerateImagesPayload }, { input: GenerateImagesInput }> = gql`
  mutation WebGenerateImages($input: GenerateImagesInput!) {
    generateImages(input: $input) {
      callId
      provider
      model
      seed
      images { index url width height mimeType bytes }
      timings { inferenceSeconds totalMs }
    }
  }
`;

export function createClient(endpoint = "/graphql"): ApolloClient {
  return new ApolloClient({
    link: new UploadHttpLink({
      uri: endpoint,
      // The gateway keeps Apollo's CSRF protection on: multipart posts need a header a plain form cannot send.
      headers: { "apollo-require-preflight": "true" },
    }),
    cache: new InMemoryCache(),
  });
}

export async function fetchModels(client: ApolloClient): Promise<ImageModel[]> {
  // Availability follows the gateway's key and its upstream probe: always ask, never reuse a cached list.
  const result = await client.query({ query: MODELS, fetchPolicy: "network-only" });
  return result.data?.models ?? [];
}

export async function generateImages(client: ApolloClient, input: GenerateImagesInput, signal: AbortSignal): Promise<GenerateImagesPayload> {
  const result = await client.mutate({
    mutation: GENERATE_IMAGES,
    variables: { input },
    // Each call is unique: nothing to gain from normalising its result into the cache.
    fetchPolicy: "no-cache",
    context: { fetchOptions: { signal } },
  });
  if (!result.data) throw new Error("The gateway answered without a result.");
  return result.data.generateImages;
}
