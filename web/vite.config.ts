import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

// The config lives in web/ but is run from the package root (`vite build --config web/vite.config.ts`).
const webRoot = fileURLToPath(new URL(".", import.meta.url));
const gateway = process.env.GATEWAY_URL ?? "http://127.0.0.1:4000";

export default defineConfig({
  root: webRoot,
  base: "/",
  publicDir: "public",
  // No .env files here: nothing of the server's environment may end up in the bundle.
  envDir: false,
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "assets",
  },
  // `npx vite --config web/vite.config.ts` for a dev loop against a gateway already running.
  server: {
    proxy: {
      // ws: subscriptions (graphql-ws) share the GraphQL path.
      "/graphql": { target: gateway, ws: true },
      "/images": gateway,
    },
  },
});
