import { ApolloServer } from "@apollo/server";
import fastifyApollo, { fastifyApolloDrainPlugin } from "@as-integrations/fastify";
import Fastify from "fastify";

/**
 * The baseline of bench (c): Apollo Server 5 on Fastify 5 through @as-integrations/fastify, as the
 * gateway is, answering `{ health { status } }` with the same shape and nothing else (no hooks, no
 * logger, no plugins). The gap to it is what the gateway's own machinery costs per request.
 */

const typeDefs = /* GraphQL */ `
  enum HealthStatus {
    OK
    DEGRADED
    DOWN
  }
  type Health {
    status: HealthStatus!
  }
  type Query {
    health: Health!
  }
`;

const resolvers = {
  Query: {
    health: async () => ({ status: "OK" }),
  },
};

const fastify = Fastify();
const apollo = new ApolloServer({ typeDefs, resolvers, csrfPrevention: true, plugins: [fastifyApolloDrainPlugin(fastify)] });
await apollo.start();
await fastify.register(fastifyApollo(apollo), { path: "/graphql" });
const address = await fastify.listen({ host: process.env.HOST ?? "127.0.0.1", port: Number(process.env.PORT ?? 0) });
console.log(`bare apollo listening on ${address}/graphql`);

const stop = () => {
  void apollo
    .stop()
    .then(() => fastify.close())
    .then(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
