export {
  ClientErrorCode,
  createGatewayClient,
  extractFiles,
  GatewayClientError,
  type GatewayClient,
  type GatewayClientErrorDetails,
  type CancelledJobResult,
  type GatewayClientOptions,
  type GenerationJobResult,
  type GenerateImagesResult,
  type GraphQLErrorEntry,
  type HealthResult,
  type ModelsResult,
  type RequestOptions,
  type SubmitOptions,
} from "./client.js";
export { createGatewaySubscriptions, type GatewaySubscriptions, type GatewaySubscriptionsOptions, type JobUpdate, type Subscription } from "./subscriptions.js";
// The typed documents and their result/variable types, usable with this client or with Apollo Client.
export * from "./generated/graphql.js";
