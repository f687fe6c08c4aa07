import type { GraphQLSchema } from "graphql";
import { buildSchema, type ContainerType, type PubSub } from "type-graphql";
import { GeneratedImageResolver, GenerationResolver } from "../resolvers/generation.resolver.js";
import { HealthResolver } from "../resolvers/health.resolver.js";
import { JobSubscriptionResolver } from "../resolvers/job-subscription.resolver.js";
import { JobResolver } from "../resolvers/job.resolver.js";
import { ModelResolver } from "../resolvers/model.resolver.js";

export const resolverClasses = [GenerationResolver, GeneratedImageResolver, ModelResolver, HealthResolver, JobResolver, JobSubscriptionResolver] as const;

/**
 * type-graphql wants a PubSub once there is a subscription, though each of ours brings its own `subscribe`
 * (the job feed): none reaches this one.
 */
const noPubSub: PubSub = {
  publish: () => undefined,
  subscribe: (topic) => {
    throw new Error(`no PubSub: subscription topic ${topic} has no subscribe of its own`);
  },
};

export type ResolverClass = (typeof resolverClasses)[number];
export type ResolverInstances = ReadonlyMap<ResolverClass, object>;

/** Resolvers are built by the app with their services; type-graphql only looks them up. */
export function buildGatewaySchema(instances: ResolverInstances): Promise<GraphQLSchema> {
  const container: ContainerType = {
    get: (resolverClass: ResolverClass) => {
      const instance = instances.get(resolverClass);
      if (!instance) throw new Error(`no instance for ${resolverClass.name}`);
      return instance;
    },
  };
  return buildSchema({
    resolvers: resolverClasses,
    container,
    validate: false,
    emitSchemaFile: false,
    pubSub: noPubSub,
  });
}
