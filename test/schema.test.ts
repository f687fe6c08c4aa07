import { readFile } from "node:fs/promises";
import { buildSchema, findBreakingChanges } from "graphql";
import { describe, expect, it } from "vitest";
import { printGatewaySchema } from "../src/schema/print-schema.js";

const committedFile = new URL("../schema.graphql", import.meta.url);

describe("schema.graphql, the committed contract", () => {
  it("is exactly the schema the server builds (else: run `npm run schema` and commit the result)", async () => {
    const built = await printGatewaySchema();
    const committed = await readFile(committedFile, "utf8").catch(() => "");
    if (committed !== built) {
      // Name what moved, so the failure says more than "strings differ" when a change is breaking.
      const breaking = committed ? findBreakingChanges(buildSchema(committed), buildSchema(built)).map((c) => `${c.type}: ${c.description}`) : [];
      expect.fail(
        [
          "schema.graphql is stale: it differs from the schema the server builds from its type-graphql classes.",
          "Run `npm run schema` and commit schema.graphql (then `npm run codegen` for the SDK).",
          ...(breaking.length ? ["Breaking changes for clients:", ...breaking.map((b) => `  - ${b}`)] : []),
        ].join("\n"),
      );
    }
    expect(committed).toBe(built);
  });

  it("holds the operations the SDK is generated from", async () => {
    const schema = buildSchema(await readFile(committedFile, "utf8"));
    expect(Object.keys(schema.getQueryType()?.getFields() ?? {})).toEqual(expect.arrayContaining(["health"]));
    expect(Object.keys(schema.getMutationType()?.getFields() ?? {})).toContain("generateImages");
    expect(schema.getType("Upload")).toBeDefined();
    expect(schema.getType("SafeInt")).toBeDefined();
  });
});
