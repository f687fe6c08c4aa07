import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { generate, loadCodegenConfig } from "@graphql-codegen/cli";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));
const generatedDir = path.join(root, "sdk", "generated");

interface Output {
  filename: string;
  content: string;
}

describe("sdk/generated, the committed codegen output", () => {
  it("matches what `npm run codegen` produces from schema.graphql and sdk/operations (else: run it and commit)", async () => {
    const { config } = await loadCodegenConfig({ configFilePath: path.join(root, "codegen.yml") });
    // Into memory only: the files on disk are what is being judged.
    const outputs = (await generate({ ...config, cwd: root, silent: true }, false)) as Output[];
    expect(outputs.length).toBeGreaterThan(0);

    const expected = new Map(outputs.map((o) => [path.resolve(root, o.filename), o.content]));
    const onDisk = new Map<string, string>();
    for (const name of await readdir(generatedDir).catch(() => [])) {
      onDisk.set(path.join(generatedDir, name), await readFile(path.join(generatedDir, name), "utf8"));
    }

    const stale = [...expected].filter(([file, content]) => onDisk.get(file) !== content).map(([file]) => path.relative(root, file));
    const extra = [...onDisk.keys()].filter((file) => !expected.has(file)).map((file) => path.relative(root, file));
    if (stale.length || extra.length) {
      expect.fail(
        [
          "sdk/generated is stale: run `npm run codegen` and commit sdk/generated.",
          ...stale.map((f) => `  differs or is missing: ${f}`),
          ...extra.map((f) => `  no longer generated: ${f}`),
        ].join("\n"),
      );
    }
  });

  it("has a typed document for every operation in sdk/operations", async () => {
    const operations = (await readdir(path.join(root, "sdk", "operations"))).filter((f) => f.endsWith(".graphql"));
    const generated = await readFile(path.join(generatedDir, "graphql.ts"), "utf8");
    expect(operations.length).toBeGreaterThanOrEqual(3);
    for (const file of operations) {
      const name = path.basename(file, ".graphql");
      // A shared fragment gets a fragment document; every operation a document of its own.
      const isFragment = /^fragment /m.test(await readFile(path.join(root, "sdk", "operations", file), "utf8"));
      expect(generated).toContain(isFragment ? `export const ${name}FragmentDoc =` : `export const ${name}Document =`);
    }
    // The multipart client relies on Upload being a browser file type, not `any`.
    expect(generated).toMatch(/images\?: Array<File \| Blob> \| null/);
  });
});
