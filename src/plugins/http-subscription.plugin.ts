import type { ApolloServerPlugin } from "@apollo/server";
import { GraphQLError, OperationTypeNode } from "graphql";

/**
 * Apollo would run a subscription sent over HTTP as if it were a query, calling the field's resolver
 * with no event behind it. Refused instead, with where to send it.
 */
export function httpSubscriptionPlugin(graphqlPath: string): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation }) {
          if (operation?.operation !== OperationTypeNode.SUBSCRIPTION) return;
          throw new GraphQLError(`Subscriptions run over WebSocket (the graphql-ws protocol) on ${graphqlPath}, not over HTTP`, {
            extensions: { code: "BAD_REQUEST", http: { status: 400 } },
          });
        },
      };
    },
  };
}
