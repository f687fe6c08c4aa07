import js from "@eslint/js";
import tseslint from "typescript-eslint";

/**
 * The layering (docs/architecture.md): services hold the logic and know nothing of how they are served,
 * the SiliconFlow client is a leaf over its wire types, and the simulator stands alone so that it
 * simulates SiliconFlow rather than the gateway's idea of it. Import paths are matched as written.
 */
const SERVICE_ROOMS = ["generation", "models", "storage", "limits", "upstream"];
const layers = [
  {
    files: SERVICE_ROOMS.map((room) => `src/${room}/*.ts`),
    message: "services know nothing of HTTP, GraphQL or the call log's internals: return an outcome or throw a GatewayError",
    group: ["../http/*", "../plugins/*", "../resolvers/*", "../schema/*", "../context.js", "../services.js", "../gateway.js", "../main.js", "../simulator/*"],
    // A service fills the record of its call with facts, so that one file of the call log is open to it;
    // how a call ends and how its line is written are the call log's.
    regex: "^\\.\\./call-log/(?!call-trace\\.js$)",
  },
  {
    // The jobs room runs generations through the service and writes their lines when they end, so the
    // call log's book and recorder are open to it; how it is served (GraphQL, HTTP) is not.
    files: ["src/jobs/*.ts"],
    message: "the jobs room is a service: it knows nothing of HTTP or GraphQL; the resolvers and routes call it",
    group: ["../http/*", "../plugins/*", "../resolvers/*", "../schema/*", "../context.js", "../services.js", "../gateway.js", "../main.js", "../simulator/*"],
  },
  {
    files: ["src/upstream/*.ts"],
    message: "the SiliconFlow client imports only the errors, the masking of secrets and its own wire types",
    // The client stays a leaf that another upstream or a job worker can reuse as it is.
    regex: "^\\.\\./(?!errors\\.js$|observability/mask\\.js$)",
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
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // Files outside every tsconfig (configuration files) still get a program of their own.
        projectService: { allowDefaultProject: ["*.js", "web/vite.config.ts"] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
  },
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-explicit-any": "error",
      // Apollo's plugin hooks and Fastify's async handlers are typed as returning promises, so an async
      // function with nothing to await is how such a hook is written.
      "@typescript-eslint/require-await": "off",
    },
  },
  {
    files: ["test/**/*.ts"],
    rules: {
      // vitest's asymmetric matchers (expect.any, expect.stringMatching) and JSON.parse of response bodies
      // are typed any by design; the assertions themselves check the shapes.
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-return": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
    },
  },
  ...layers.map(({ files, message, group, regex }) => ({
    files,
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: [...(group ? [{ group, message }] : []), ...(regex ? [{ regex, message }] : [])] },
      ],
    },
  })),
);
