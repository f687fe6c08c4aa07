import { ApolloServer } from "@apollo/server";
import { describe, expect, it } from "vitest";
import { ErrorCode, GatewayError } from "../../src/errors.js";
import { formatError } from "../../src/schema/errors.js";

const typeDefs = "type Query { plain: String, typed: String, gateway: String }";
const resolvers = {
  Query: {
    plain: () => {
      throw new Error("Cannot destructure property 'x' of /srv/gateway/internal");
    },
    typed: () => {
      throw new TypeError("undefined is not a function at /srv/gateway/dist/x.js:1");
    },
    gateway: () => {
      throw new GatewayError(ErrorCode.STORAGE_UNAVAILABLE, "the image store is full (ENOSPC)");
    },
  },
};

describe("what an error thrown in a resolver shows the client", () => {
  const server = new ApolloServer({ typeDefs, resolvers, formatError });

  it("a plain Error (which Apollo codes INTERNAL_SERVER_ERROR) shows no message of its own", async () => {
    await server.start();
    try {
      for (const field of ["plain", "typed"]) {
        const response = await server.executeOperation({ query: `{ ${field} }` });
        const errors = response.body.kind === "single" ? response.body.singleResult.errors : undefined;
        expect(errors?.[0]).toMatchObject({ message: "internal server error", extensions: { code: "INTERNAL_SERVER_ERROR" } });
        expect(JSON.stringify(errors)).not.toContain("/srv/gateway");
      }
      const response = await server.executeOperation({ query: "{ gateway }" });
      const errors = response.body.kind === "single" ? response.body.singleResult.errors : undefined;
      expect(errors?.[0]).toMatchObject({ message: "the image store is full (ENOSPC)", extensions: { code: "STORAGE_UNAVAILABLE" } });
    } finally {
      await server.stop();
    }
  });
});
