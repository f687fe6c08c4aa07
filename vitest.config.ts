import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    // Apollo loads graphql's CJS build; a test importing "graphql" must get the same realm.
    alias: { graphql: "graphql/index.js" },
  },
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["test/setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
  },
});
