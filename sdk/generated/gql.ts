/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "mutation CancelGeneration($id: ID!) {\n  cancelGeneration(id: $id) {\n    id\n    status\n    model\n    createdAt\n    startedAt\n    finishedAt\n    queuePosition\n    error {\n      code\n      message\n    }\n  }\n}": typeof types.CancelGenerationDocument,
    "mutation GenerateImages($input: GenerateImagesInput!) {\n  generateImages(input: $input) {\n    callId\n    provider\n    model\n    seed\n    images {\n      index\n      url\n      width\n      height\n      mimeType\n      bytes\n    }\n    timings {\n      inferenceSeconds\n      totalMs\n    }\n    cacheHit\n  }\n}": typeof types.GenerateImagesDocument,
    "query GenerationJob($id: ID!) {\n  generationJob(id: $id) {\n    ...GenerationJobFields\n  }\n}": typeof types.GenerationJobDocument,
    "fragment GenerationJobFields on GenerationJob {\n  id\n  status\n  model\n  createdAt\n  startedAt\n  finishedAt\n  queuePosition\n  result {\n    callId\n    provider\n    model\n    seed\n    images {\n      index\n      url\n      width\n      height\n      mimeType\n      bytes\n    }\n    timings {\n      inferenceSeconds\n      totalMs\n    }\n    cacheHit\n  }\n  error {\n    code\n    message\n  }\n}": typeof types.GenerationJobFieldsFragmentDoc,
    "subscription GenerationJobUpdated($id: ID!) {\n  generationJobUpdated(id: $id) {\n    ...GenerationJobFields\n  }\n}": typeof types.GenerationJobUpdatedDocument,
    "query Health {\n  health {\n    status\n    provider\n    version\n    uptimeSeconds\n  }\n}": typeof types.HealthDocument,
    "query Models {\n  models {\n    id\n    displayName\n    kind\n    available\n    source\n    guidance\n    guidanceRange {\n      min\n      max\n      default\n    }\n    steps {\n      min\n      max\n      default\n    }\n    imageSizes\n    defaultImageSize\n    maxBatchSize\n    minInputImages\n    maxInputImages\n    negativePrompt\n    acceptsSeed\n    seedRange {\n      min\n      max\n    }\n  }\n}": typeof types.ModelsDocument,
    "mutation SubmitGeneration($input: GenerateImagesInput!, $idempotencyKey: String, $webhookUrl: String) {\n  submitGeneration(\n    input: $input\n    idempotencyKey: $idempotencyKey\n    webhookUrl: $webhookUrl\n  ) {\n    ...GenerationJobFields\n  }\n}": typeof types.SubmitGenerationDocument,
};
const documents: Documents = {
    "mutation CancelGeneration($id: ID!) {\n  cancelGeneration(id: $id) {\n    id\n    status\n    model\n    createdAt\n    startedAt\n    finishedAt\n    queuePosition\n    error {\n      code\n      message\n    }\n  }\n}": types.CancelGenerationDocument,
    "mutation GenerateImages($input: GenerateImagesInput!) {\n  generateImages(input: $input) {\n    callId\n    provider\n    model\n    seed\n    images {\n      index\n      url\n      width\n      height\n      mimeType\n      bytes\n    }\n    timings {\n      inferenceSeconds\n      totalMs\n    }\n    cacheHit\n  }\n}": types.GenerateImagesDocument,
    "query GenerationJob($id: ID!) {\n  generationJob(id: $id) {\n    ...GenerationJobFields\n  }\n}": types.GenerationJobDocument,
    "fragment GenerationJobFields on GenerationJob {\n  id\n  status\n  model\n  createdAt\n  startedAt\n  finishedAt\n  queuePosition\n  result {\n    callId\n    provider\n    model\n    seed\n    images {\n      index\n      url\n      width\n      height\n      mimeType\n      bytes\n    }\n    timings {\n      inferenceSeconds\n      totalMs\n    }\n    cacheHit\n  }\n  error {\n    code\n    message\n  }\n}": types.GenerationJobFieldsFragmentDoc,
    "subscription GenerationJobUpdated($id: ID!) {\n  generationJobUpdated(id: $id) {\n    ...GenerationJobFields\n  }\n}": types.GenerationJobUpdatedDocument,
    "query Health {\n  health {\n    status\n    provider\n    version\n    uptimeSeconds\n  }\n}": types.HealthDocument,
    "query Models {\n  models {\n    id\n    displayName\n    kind\n    available\n    source\n    guidance\n    guidanceRange {\n      min\n      max\n      default\n    }\n    steps {\n      min\n      max\n      default\n    }\n    imageSizes\n    defaultImageSize\n    maxBatchSize\n    minInputImages\n    maxInputImages\n    negativePrompt\n    acceptsSeed\n    seedRange {\n      min\n      max\n    }\n  }\n}": types.ModelsDocument,
    "mutation SubmitGeneration($input: GenerateImagesInput!, $idempotencyKey: String, $webhookUrl: String) {\n  submitGeneration(\n    input: $input\n    idempotencyKey: $idempotencyKey\n    webhookUrl: $webhookUrl\n  ) {\n    ...GenerationJobFields\n  }\n}": types.SubmitGenerationDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation CancelGeneration($id: ID!) {\n  cancelGeneration(id: $id) {\n    id\n    status\n    model\n    createdAt\n    startedAt\n    finishedAt\n    queuePosition\n    error {\n      code\n      message\n    }\n  }\n}"): (typeof documents)["mutation CancelGeneration($id: ID!) {\n  cancelGeneration(id: $id) {\n    id\n    status\n    model\n    createdAt\n    startedAt\n    finishedAt\n    queuePosition\n    error {\n      code\n      message\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation GenerateImages($input: GenerateImagesInput!) {\n  generateImages(input: $input) {\n    callId\n    provider\n    model\n    seed\n    images {\n      index\n      url\n      width\n      height\n      mimeType\n      bytes\n    }\n    timings {\n      inferenceSeconds\n      totalMs\n    }\n    cacheHit\n  }\n}"): (typeof documents)["mutation GenerateImages($input: GenerateImagesInput!) {\n  generateImages(input: $input) {\n    callId\n    provider\n    model\n    seed\n    images {\n      index\n      url\n      width\n      height\n      mimeType\n      bytes\n    }\n    timings {\n      inferenceSeconds\n      totalMs\n    }\n    cacheHit\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query GenerationJob($id: ID!) {\n  generationJob(id: $id) {\n    ...GenerationJobFields\n  }\n}"): (typeof documents)["query GenerationJob($id: ID!) {\n  generationJob(id: $id) {\n    ...GenerationJobFields\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "fragment GenerationJobFields on GenerationJob {\n  id\n  status\n  model\n  createdAt\n  startedAt\n  finishedAt\n  queuePosition\n  result {\n    callId\n    provider\n    model\n    seed\n    images {\n      index\n      url\n      width\n      height\n      mimeType\n      bytes\n    }\n    timings {\n      inferenceSeconds\n      totalMs\n    }\n    cacheHit\n  }\n  error {\n    code\n    message\n  }\n}"): (typeof documents)["fragment GenerationJobFields on GenerationJob {\n  id\n  status\n  model\n  createdAt\n  startedAt\n  finishedAt\n  queuePosition\n  result {\n    callId\n    provider\n    model\n    seed\n    images {\n      index\n      url\n      width\n      height\n      mimeType\n      bytes\n    }\n    timings {\n      inferenceSeconds\n      totalMs\n    }\n    cacheHit\n  }\n  error {\n    code\n    message\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "subscription GenerationJobUpdated($id: ID!) {\n  generationJobUpdated(id: $id) {\n    ...GenerationJobFields\n  }\n}"): (typeof documents)["subscription GenerationJobUpdated($id: ID!) {\n  generationJobUpdated(id: $id) {\n    ...GenerationJobFields\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Health {\n  health {\n    status\n    provider\n    version\n    uptimeSeconds\n  }\n}"): (typeof documents)["query Health {\n  health {\n    status\n    provider\n    version\n    uptimeSeconds\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Models {\n  models {\n    id\n    displayName\n    kind\n    available\n    source\n    guidance\n    guidanceRange {\n      min\n      max\n      default\n    }\n    steps {\n      min\n      max\n      default\n    }\n    imageSizes\n    defaultImageSize\n    maxBatchSize\n    minInputImages\n    maxInputImages\n    negativePrompt\n    acceptsSeed\n    seedRange {\n      min\n      max\n    }\n  }\n}"): (typeof documents)["query Models {\n  models {\n    id\n    displayName\n    kind\n    available\n    source\n    guidance\n    guidanceRange {\n      min\n      max\n      default\n    }\n    steps {\n      min\n      max\n      default\n    }\n    imageSizes\n    defaultImageSize\n    maxBatchSize\n    minInputImages\n    maxInputImages\n    negativePrompt\n    acceptsSeed\n    seedRange {\n      min\n      max\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation SubmitGeneration($input: GenerateImagesInput!, $idempotencyKey: String, $webhookUrl: String) {\n  submitGeneration(\n    input: $input\n    idempotencyKey: $idempotencyKey\n    webhookUrl: $webhookUrl\n  ) {\n    ...GenerationJobFields\n  }\n}"): (typeof documents)["mutation SubmitGeneration($input: GenerateImagesInput!, $idempotencyKey: String, $webhookUrl: String) {\n  submitGeneration(\n    input: $input\n    idempotencyKey: $idempotencyKey\n    webhookUrl: $webhookUrl\n  ) {\n    ...GenerationJobFields\n  }\n}"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;