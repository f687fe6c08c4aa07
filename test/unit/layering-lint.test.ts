import { fileURLToPath } from "node:url";
import { ESLint } from "eslint";
import tseslint from "typescript-eslint";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
// The project's own configuration; type-aware rules off, since the linted files exist only in this test.
const eslint = new ESLint({ cwd: root, overrideConfig: tseslint.configs.disableTypeChecked });

/** The no-restricted-imports messages lint gives one import line in a file at `filePath`. */
async function refusals(filePath: string, specifier: string): Promise<string[]> {
  const [result] = await eslint.lintText(`import { x } from "${specifier}";\nexport const y = x;\n`, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId === "no-restricted-imports").map((m) => m.message);
}

describe("the layering is enforced by lint", () => {
  it.each([
    ["src/generation/example.ts", "../http/multipart.js"],
    ["src/models/example.ts", "../schema/generation.type.js"],
    ["src/storage/example.ts", "../call-log/call-log.plugin.js"],
    ["src/limits/example.ts", "../call-log/recorder.js"],
    ["src/generation/example.ts", "../resolvers/generation.resolver.js"],
    ["src/storage/example.ts", "../services.js"],
    ["src/upstream/example.ts", "../call-log/call-trace.js"],
    ["src/upstream/example.ts", "../models/generation-rules.js"],
    ["src/upstream/example.ts", "../http/multipart.js"],
    ["src/simulator/example.ts", "../errors.js"],
    ["src/simulator/example.ts", "../upstream/wire.js"],
    ["src/jobs/example.ts", "../schema/job.type.js"],
    ["src/jobs/example.ts", "../resolvers/job.resolver.js"],
    ["src/jobs/example.ts", "../http/server.js"],
  ])("%s may not import %s", async (file, specifier) => {
    expect(await refusals(file, specifier)).toHaveLength(1);
  });

  it.each([
    ["src/generation/example.ts", "../errors.js"],
    ["src/generation/example.ts", "../call-log/call-trace.js"],
    ["src/generation/example.ts", "../storage/image-store.js"],
    ["src/models/example.ts", "../observability/mask.js"],
    ["src/upstream/example.ts", "../errors.js"],
    ["src/upstream/example.ts", "../observability/mask.js"],
    ["src/upstream/example.ts", "./wire.js"],
    ["src/simulator/example.ts", "./painter.js"],
    ["src/http/example.ts", "../generation/generation.service.js"],
    ["src/jobs/example.ts", "../call-log/recorder.js"],
    ["src/jobs/example.ts", "../generation/generation.service.js"],
  ])("%s may import %s", async (file, specifier) => {
    expect(await refusals(file, specifier)).toEqual([]);
  });
});
