import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { getIntrospectionQuery, type IntrospectionOptions } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { postJson, startHarness, type Harness } from "./support/harness.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const run = promisify(execFile);

/** Every option graphql 16.15 has, as codegen and other tools may ask for them. */
const ALL_OPTIONS: IntrospectionOptions = {
  descriptions: true,
  specifiedByUrl: true,
  directiveIsRepeatable: true,
  schemaDescription: true,
  inputValueDeprecation: true,
  oneOf: true,
};
/** GraphiQL's schema fetch: graphql-js's query with the two options GraphiQL exposes turned on. */
const GRAPHIQL_OPTIONS: IntrospectionOptions = { inputValueDeprecation: true, schemaDescription: true };

function nestedOfType(levels: number): string {
  let inner = "kind name";
  for (let i = 0; i < levels; i++) inner = `kind ofType { ${inner} }`;
  return `{ __type(name: "GenerateImagesInput") { inputFields { type { ${inner} } } } }`;
}

interface SchemaAnswer {
  __schema?: { queryType: { name: string }; mutationType: { name: string } | null; types: Array<{ name: string }> };
}

/** Introspection is off in production: these run where it is on (development, or GATEWAY_INTROSPECTION=true). */
describe("introspection passes the query limits, and stays bounded", () => {
  let h: Harness;
  let strict: Harness;
  beforeAll(async () => {
    h = await startHarness();
    // Limits far below any introspection document: they bound ordinary fields, not the IDE's schema fetch.
    strict = await startHarness({ config: { production: true, introspection: true, limits: { maxQueryDepth: 3, maxQueryComplexity: 40 } } });
  });
  afterAll(async () => {
    await h?.close();
    await strict?.close();
  });

  const documents: Array<[string, () => Promise<string>]> = [
    ["graphql-js getIntrospectionQuery with every option (15 levels)", async () => getIntrospectionQuery(ALL_OPTIONS)],
    ["graphql-js getIntrospectionQuery with its defaults", async () => getIntrospectionQuery()],
    ["GraphiQL's", async () => getIntrospectionQuery(GRAPHIQL_OPTIONS)],
    ["Altair's (13 levels)", () => readFile(path.join(root, "test/fixtures/altair-introspection.graphql"), "utf8")],
  ];

  it.each(documents)("%s: 200 with the schema, under the default limits and under tight ones", async (_, document) => {
    const query = await document();
    for (const gateway of [h, strict]) {
      const { status, body } = await postJson<SchemaAnswer>(gateway.graphqlUrl, query);
      expect(body.errors).toBeUndefined();
      expect(status).toBe(200);
      expect(body.data?.__schema?.queryType.name).toBe("Query");
      expect(body.data?.__schema?.mutationType?.name).toBe("Mutation");
      expect(body.data?.__schema?.types.map((t) => t.name)).toContain("GenerateImagesInput");
    }
  });

  it("a document far deeper than those (40 nested ofType) is refused with BAD_USER_INPUT", async () => {
    for (const gateway of [h, strict]) {
      const { status, body } = await postJson(gateway.graphqlUrl, nestedOfType(40));
      expect(status).toBe(400);
      expect(body.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
      expect(body.errors?.[0]?.message).toMatch(/introspection query is 4\d levels deep; at most 20/);
    }
    // A few more levels than the standard documents still pass.
    expect((await postJson(h.graphqlUrl, nestedOfType(14))).body.errors).toBeUndefined();
  });

  it("ordinary fields keep their own limits beside an introspection field", async () => {
    const { body } = await postJson(strict.graphqlUrl, `{ __schema { queryType { name } } health { models { steps { min } } } }`);
    expect(body.errors?.[0]?.message).toMatch(/4 levels deep; at most 3/);
  });

  it("each introspection field counts a bounded amount toward complexity, so many aliases are still refused", async () => {
    // About 30 fields, counted as 25.
    const one = `__schema { types { name description kind fields { name description args { name description type { name kind } } type { name kind ofType { name kind } } }
      interfaces { name } possibleTypes { name } enumValues { name description } inputFields { name description } } }`;
    expect((await postJson(strict.graphqlUrl, `{ ${one} }`)).body.errors).toBeUndefined();
    const many = Array.from({ length: 50 }, (_, i) => `s${i}: ${one}`).join(" ");
    const { status, body } = await postJson(h.graphqlUrl, `{ ${many} }`);
    expect(status).toBe(400);
    expect(body.errors?.[0]?.message).toMatch(/complexity is \d+; at most 1000/);
  });
});

describe("graphql-codegen pointed at a running gateway", () => {
  let h: Harness;
  let work: string;
  beforeAll(async () => {
    h = await startHarness({ config: { production: true, introspection: true } });
    work = await mkdtemp(path.join(tmpdir(), "codegen-live-"));
  });
  afterAll(async () => {
    await h?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** The project's codegen.yml with its schema and output swapped, run by the CLI from node_modules. */
  async function codegen(schema: string, name: string): Promise<Map<string, string>> {
    const project = parseYaml(await readFile(path.join(root, "codegen.yml"), "utf8")) as { generates: Record<string, unknown> };
    const [target] = Object.values(project.generates);
    const outDir = path.join(work, name);
    const configFile = path.join(work, `${name}.codegen.yml`);
    await writeFile(configFile, stringifyYaml({ ...project, schema, generates: { [`${outDir}/`]: target } }));
    await run(path.join(root, "node_modules/.bin/graphql-codegen"), ["--config", configFile], { cwd: root, timeout: 60_000 });
    const files = new Map<string, string>();
    for (const file of (await readdir(outDir)).sort()) files.set(file, await readFile(path.join(outDir, file), "utf8"));
    return files;
  }

  it("generates the same types from the live URL as from the committed schema.graphql", async () => {
    const live = await codegen(h.graphqlUrl, "live");
    const committed = await codegen(path.join(root, "schema.graphql"), "committed");
    expect([...live.keys()]).toEqual([...committed.keys()]);
    expect(live.get("graphql.ts")).toContain("GenerateImagesInput");
    for (const [file, content] of committed) expect(live.get(file), file).toBe(content);
  }, 120_000);
});
