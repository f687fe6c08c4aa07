import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { configReference } from "../src/config/config-reference.js";

// Compiled to dist/scripts/: the repository root is two levels up, wherever npm is run from.
const target = fileURLToPath(new URL("../../docs/configuration.md", import.meta.url));

const text = configReference();
const before = await readFile(target, "utf8").catch(() => undefined);
if (before === text) {
  process.stdout.write("docs/configuration.md is up to date\n");
} else {
  await writeFile(target, text);
  process.stdout.write(`wrote ${target}\n`);
}
