import "reflect-metadata";
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { printGatewaySchema } from "../src/schema/print-schema.js";

// Compiled to dist/scripts/: the repository root is two levels up, wherever npm is run from.
const target = fileURLToPath(new URL("../../schema.graphql", import.meta.url));

const sdl = await printGatewaySchema();
const before = await readFile(target, "utf8").catch(() => undefined);
if (before === sdl) {
  process.stdout.write(`schema.graphql is up to date\n`);
} else {
  await writeFile(target, sdl);
  process.stdout.write(`wrote ${target}\n`);
}
