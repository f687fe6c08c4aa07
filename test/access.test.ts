import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GENERATE, postJson, startHarness, type Harness } from "./support/harness.js";

const textToImage = { model: "Qwen/Qwen-Image", prompt: "a kite" };

describe("gateway access", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ config: { auth: { tokens: ["team-token-0001"] } } });
  });
  afterAll(async () => {
    await h.close();
  });

  it("generateImages needs a client token; health and models stay open", async () => {
    const none = await postJson(h.graphqlUrl, GENERATE, { input: textToImage });
    expect(none.body.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    const wrong = await postJson(h.graphqlUrl, GENERATE, { input: textToImage }, { authorization: "Bearer team-token-0002" });
    expect(wrong.body.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    expect((await h.logLines()).at(-1)).toMatchObject({ status: "failed", error_code: "UNAUTHENTICATED" });
    const right = await postJson(h.graphqlUrl, GENERATE, { input: textToImage }, { authorization: "Bearer team-token-0001" });
    expect(right.body.errors).toBeUndefined();
    const health = await postJson(h.graphqlUrl, `{ health { status } models { id } }`);
    expect(health.body.errors).toBeUndefined();
  });

  it("queries can be protected too", async () => {
    const p = await startHarness({ config: { auth: { tokens: ["team-token-0001"], protectQueries: true } } });
    try {
      for (const query of [`{ models { id } }`, `{ health { status } }`, `{ model(id: "Qwen/Qwen-Image") { id } }`]) {
        const open = await postJson(p.graphqlUrl, query);
        // Refused as a whole before anything runs, as a GraphQL error: 200, no data, the code in the body.
        expect(open.status, query).toBe(200);
        expect(open.body.data, query).toBeUndefined();
        expect(open.body.errors?.[0]?.extensions?.code, query).toBe("UNAUTHENTICATED");
        const wrong = await postJson(p.graphqlUrl, query, {}, { authorization: "Bearer team-token-0002" });
        expect(wrong.body.errors?.[0]?.extensions?.code, query).toBe("UNAUTHENTICATED");
        const withToken = await postJson(p.graphqlUrl, query, {}, { authorization: "Bearer team-token-0001" });
        expect(withToken.body.errors, query).toBeUndefined();
      }
      // The mutation keeps its own check, with its failed call logged.
      const generate = await postJson(p.graphqlUrl, GENERATE, { input: textToImage });
      expect(generate.body.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
      expect((await p.logLines()).at(-1)).toMatchObject({ status: "failed", error_code: "UNAUTHENTICATED" });
    } finally {
      await p.close();
    }
  });

  it("a caller may bring their own SiliconFlow key when allowed; it is masked in the log", async () => {
    const own = "sk-client-own-key-0123456789abcdef";
    const b = await startHarness({ config: { auth: { allowClientApiKey: true } }, simulator: { apiKey: undefined } });
    try {
      const { body } = await postJson(b.graphqlUrl, GENERATE, { input: textToImage }, { "x-siliconflow-api-key": own });
      expect(body.errors).toBeUndefined();
      expect(b.simulator.received.at(-1)!.headers.authorization).toBe(`Bearer ${own}`);
      const line = (await b.logLines()).at(-1)!;
      expect(line.api_key).toBe("sk-c****cdef");
      expect(JSON.stringify(line)).not.toContain(own);
    } finally {
      await b.close();
    }
  });
});

describe("browsers and production", () => {
  it("CORS follows the allowlist", async () => {
    const h = await startHarness({ config: { corsOrigins: ["https://app.example"] } });
    try {
      const preflight = (origin: string) =>
        fetch(h.graphqlUrl, { method: "OPTIONS", headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type" } });
      const allowed = await preflight("https://app.example");
      expect(allowed.headers.get("access-control-allow-origin")).toBe("https://app.example");
      const refused = await preflight("https://evil.example");
      expect(refused.headers.get("access-control-allow-origin")).toBeNull();
    } finally {
      await h.close();
    }
  });

  it("production turns introspection off unless enabled", async () => {
    const prod = await startHarness({ config: { production: true } });
    try {
      const { body } = await postJson(prod.graphqlUrl, `{ __schema { queryType { name } } }`);
      expect(body.errors?.[0]?.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
    } finally {
      await prod.close();
    }
    const enabled = await startHarness({ config: { production: true, introspection: true } });
    try {
      const { body } = await postJson(enabled.graphqlUrl, `{ __schema { queryType { name } } }`);
      expect(body.errors).toBeUndefined();
    } finally {
      await enabled.close();
    }
  });
});
