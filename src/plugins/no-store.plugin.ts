import type { ApolloServerPlugin } from "@apollo/server";

/**
 * Every GraphQL answer is for one caller at one moment, so none may be stored by a cache. Said here once
 * per response rather than by Apollo's cache-control plugin, which the gateway turns off: it has no
 * cacheable field to hint, and the plugin wrapped every field resolver to look for hints.
 */
export function noStorePlugin(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response }) {
          response.http.headers.set("cache-control", "no-store");
        },
      };
    },
  };
}
