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
    ["src/services/example.ts", "../http/multipart.js"],
    ["src/services/example.ts", "../schema/generation.type.js"],
    ["src/services/example.ts", "../plugins/call-log.plugin.js"],
    ["src/services/example.ts", "../logging/call-recorder.js"],
    ["src/services/siliconflow/example.ts", "../call-trace.js"],
    ["src/services/siliconflow/example.ts", "../../http/multipart.js"],
    ["src/simulator/example.ts", "../services/errors.js"],
  ])("%s may not import %s", async (file, specifier) => {
    expect(await refusals(file, specifier)).toHaveLength(1);
  });

  it.each([
    ["src/services/example.ts", "./errors.js"],
    ["src/services/example.ts", "../logging/mask.js"],
    ["src/services/siliconflow/example.ts", "../errors.js"],
    ["src/services/siliconflow/example.ts", "../../logging/mask.js"],
    ["src/services/siliconflow/example.ts", "./wire.js"],
    ["src/simulator/example.ts", "./painter.js"],
    ["src/http/example.ts", "../services/errors.js"],
  ])("%s may import %s", async (file, specifier) => {
    expect(await refusals(file, specifier)).toEqual([]);
  });
});
