import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { configReference } from "../../src/config/config-reference.js";
import { environmentKeys } from "../../src/config/config.schema.js";
import { ErrorCode } from "../../src/errors.js";

const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");

/** The lines of the README section under `## heading`, up to the next `## `. */
function section(heading: string): string {
  const start = readme.indexOf(`\n## ${heading}\n`);
  expect(start, `README has a "## ${heading}" section`).toBeGreaterThanOrEqual(0);
  const end = readme.indexOf("\n## ", start + 1);
  return readme.slice(start, end === -1 ? undefined : end);
}

/** Backticked names in the first column of a section's table rows. */
function firstColumnNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split("\n")) {
    if (!line.startsWith("| ")) continue;
    const first = line.split("|")[1] ?? "";
    for (const match of first.matchAll(/`([A-Z][A-Z0-9_]+)`/g)) names.add(match[1]!);
  }
  return names;
}

describe("the README's reference tables match the code", () => {
  it("lists every environment variable the configuration reads, and none it does not", () => {
    const documented = firstColumnNames(section("Configuration"));
    const read = new Set(environmentKeys.map(([name]) => name));
    // NODE_ENV is read by convention beside GATEWAY_PRODUCTION, not through the key table.
    documented.delete("NODE_ENV");
    expect([...read].filter((name) => !documented.has(name)), "read but not documented").toEqual([]);
    expect([...documented].filter((name) => !read.has(name)), "documented but not read").toEqual([]);
  });

  it("lists every error code the gateway gives", () => {
    const documented = firstColumnNames(section("Error codes"));
    expect(Object.values(ErrorCode).filter((code) => !documented.has(code))).toEqual([]);
  });
});

describe("the repository explains itself", () => {
  it("no source file cites a document outside the repository", () => {
    const root = fileURLToPath(new URL("../..", import.meta.url));
    // Documents the project was planned from, which live beside the repository and not in it.
    const outside = ["design\\.md", "siliconflow-api\\.md", "seed-design", "stack-notes", "/work/shared"];
    const grep = spawnSync("git", ["grep", "-nE", outside.join("|"), "--", "src", "web/src", "sdk/*.ts", "bench", "scripts", "*.js"], {
      cwd: root,
      encoding: "utf8",
    });
    // git grep exits 1 when nothing matches, 0 with matches, and above 1 on an error.
    expect(grep.status, grep.stderr).toBe(1);
    expect(grep.stdout).toBe("");
  });
});

describe("docs/configuration.md", () => {
  it("is what the configuration schema generates (npm run docs:config)", () => {
    const committed = readFileSync(new URL("../../docs/configuration.md", import.meta.url), "utf8");
    expect(committed).toBe(configReference());
  });
});

describe("docs/architecture.md", () => {
  const doc = readFileSync(new URL("../../docs/architecture.md", import.meta.url), "utf8");
  const src = fileURLToPath(new URL("../../src/", import.meta.url));

  it("names only files and folders that exist", () => {
    // Paths are written from src/ (`src/errors.ts`) or from their room (`call-log/book.ts`).
    const named = [...doc.matchAll(/`((?:src\/)?[a-z-]+\/[a-z./-]*|src\/[a-z.-]+)`/g)].map((m) => m[1]!.replace(/^src\//, ""));
    const missing = named.filter((name) => !existsSync(name.startsWith("test/") ? path.join(src, "..", name) : path.join(src, name)));
    expect(named.length).toBeGreaterThan(30);
    expect(missing).toEqual([]);
  });

  it("has a row for every room of src/", () => {
    const rooms = readdirSync(src, { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => entry.name);
    expect(rooms.filter((room) => !doc.includes(`| \`src/${room}/\` |`))).toEqual([]);
  });
});
