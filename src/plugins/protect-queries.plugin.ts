import type { ApolloServerPlugin } from "@apollo/server";
import { GraphQLError, OperationTypeNode } from "graphql";
import type { GatewayContext } from "../context.js";
import { ErrorCode } from "../errors.js";

/**
 * With `auth.protectQueries`, queries need a client token too (generateImages always does). Decided once
 * per operation, before anything runs; the app installs it only when so configured, so an open gateway
 * pays nothing for it on each health probe.
 */
export function protectQueriesPlugin(): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, contextValue }) {
          if (operation?.operation !== OperationTypeNode.QUERY || contextValue.caller.authenticated) return;
          // 200, as for any GraphQL error: clients read the code from the body, not the status.
          throw new GraphQLError("This query needs a client token: send `Authorization: Bearer <token>`", {
            extensions: { code: ErrorCode.UNAUTHENTICATED, http: { status: 200 } },
          });
        },
      };
    },
  };
}
