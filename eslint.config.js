import js from "@eslint/js";
import tseslint from "typescript-eslint";

/**
 * The layering (docs/architecture.md): services hold the logic and know nothing of how they are served,
 * the SiliconFlow client is a leaf over its wire types, and the simulator stands alone so that it
 * simulates SiliconFlow rather than the gateway's idea of it. Import paths are matched as written.
 */
const layers = [
  {
    files: ["src/services/*.ts"],
    message: "services know nothing of HTTP, GraphQL or the call log's internals: return an outcome or throw a GatewayError",
    group: ["../http/*", "../plugins/*", "../resolvers/*", "../schema/*", "../logging/call-*", "../context.js", "../app.js", "../gateway.js", "../main.js"],
  },
  {
    files: ["src/services/siliconflow/*.ts"],
    message: "the SiliconFlow client imports only the errors, the masking of secrets and its own wire types",
    // Anything outside its folder but those two.
    regex: "^\\.\\./(?!errors\\.js$|\\.\\./logging/mask\\.js$)",
  },
  {
    files: ["src/simulator/*.ts"],
    message: "the simulator imports nothing from the gateway",
    group: ["../*"],
  },
];

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "coverage/", "sdk/generated/", "web/dist/", "data/", "logs/", ".test-build/", ".scratch/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-explicit-any": "error",
    },
  },
  ...layers.map(({ files, message, ...pattern }) => ({
    files,
    rules: { "no-restricted-imports": ["error", { patterns: [{ ...pattern, message }] }] },
  })),
);
