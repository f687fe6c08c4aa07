import { Validator } from "@seriousme/openapi-schema-validator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "./support/harness.js";

interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, { operationId?: string; requestBody?: { content: Record<string, unknown> } }>>;
}

describe("OpenAPI 3.1 at /openapi.json", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it("is a valid OpenAPI 3.1 document of the REST faces, generated from the route schemas", async () => {
    const response = await fetch(`${h.url}/openapi.json`);
    expect(response.status).toBe(200);
    const document = (await response.json()) as OpenApiDocument;
    expect(document.openapi).toBe("3.1.0");

    const validator = new Validator();
    const result = await validator.validate(document as unknown as Record<string, unknown>);
    expect(result.errors ?? [], JSON.stringify(result.errors, null, 2)).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
    // The validator does refuse: the same document without its info is no OpenAPI document.
    const { info: _info, ...withoutInfo } = document as OpenApiDocument & { info: unknown };
    expect((await new Validator().validate(withoutInfo)).valid).toBe(false);

    expect(document.paths["/v1/images/generations"]?.post?.operationId).toBe("createImage");
    expect(Object.keys(document.paths["/v1/images/generations"]!.post!.requestBody!.content)).toEqual(["application/json"]);
    expect(document.paths["/v1/images/edits"]?.post?.operationId).toBe("createImageEdit");
    expect(Object.keys(document.paths["/v1/images/edits"]!.post!.requestBody!.content)).toEqual(["multipart/form-data"]);
    expect(document.paths["/v1/models"]?.get?.operationId).toBe("listModels");
    // The original REST API is documented from its own route schemas, beside the OpenAI face.
    expect(Object.keys(document.paths["/generate-images"]!.post!.requestBody!.content)).toEqual(["multipart/form-data"]);
    expect(document.paths["/health"]?.get).toBeDefined();
    // Routes without a schema are not REST faces: GraphQL, the probes, the stored images, the docs themselves.
    for (const path of ["/graphql", "/metrics", "/openapi.json", "/docs", "/images/{fileName}"]) expect(document.paths).not.toHaveProperty(path);
  });

  it("the docs page is served outside production", async () => {
    const page = await fetch(`${h.url}/docs`, { redirect: "follow" });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("swagger-ui");
  });
});

describe("in production", () => {
  it("the docs page is off unless enabled; /openapi.json stays", async () => {
    const h = await startHarness({ config: { production: true } });
    try {
      expect((await fetch(`${h.url}/docs`)).status).toBe(404);
      expect((await fetch(`${h.url}/docs/static/swagger-ui-bundle.js`)).status).toBe(404);
      expect((await fetch(`${h.url}/openapi.json`)).status).toBe(200);
    } finally {
      await h.close();
    }
    const enabled = await startHarness({ config: { production: true, docs: true } });
    try {
      expect((await fetch(`${enabled.url}/docs`)).status).toBe(200);
    } finally {
      await enabled.close();
    }
  });
});
