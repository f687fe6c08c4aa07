export {
  ClientErrorCode,
  createGatewayClient,
  extractFiles,
  GatewayClientError,
  type GatewayClient,
  type GatewayClientErrorDetails,
  type GatewayClientOptions,
  type GenerateImagesResult,
  type GraphQLErrorEntry,
  type HealthResult,
  type ModelsResult,
  type RequestOptions,
} from "./client.js";
export { createGatewaySubscriptions, type GatewaySubscriptions, type GatewaySubscriptionsOptions, type JobUpdate, type Subscription } from "./subscriptions.js";
// The typed documents and their result/variable types, usable with this client or with Apollo Client.
export * from "./generated/graphql.js";
