import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { buildSchema, type GraphQLInputObjectType } from "graphql";
import type { Browser, BrowserContext } from "playwright-core";
import { build } from "vite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isLoopback, launchChromium, recordNetwork, skipBrowserTests } from "./support/browser.js";
import { startHarness, type Harness } from "./support/harness.js";
import { dataUrlBytes } from "./support/images.js";
import { jobFeed, LocalJobEvents } from "../src/jobs/job-events.js";
import { succeeded } from "./support/hand-jobs.js";

type Sdk = typeof import("../sdk/index.js");

const HTML_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
const INTROSPECTION = "{ __schema { queryType { name } } }";

async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; location: string | null; type: string; body: string; csp: string | null }> {
  const response = await fetch(url, { headers, redirect: "manual" });
  return {
    status: response.status,
    location: response.headers.get("location"),
    type: response.headers.get("content-type") ?? "",
    body: await response.text(),
    csp: response.headers.get("content-security-policy"),
  };
}

/** sdk/ bundled as a browser would get it: one ES module, no Node built-ins, nothing external. */
async function bundleSdk(): Promise<string> {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const result = await build({
    configFile: false,
    root,
    logLevel: "silent",
    build: { write: false, minify: false, lib: { entry: fileURLToPath(new URL("../sdk/index.ts", import.meta.url)), formats: ["es"], fileName: "sdk" } },
  });
  if (!Array.isArray(result) && !("output" in result)) throw new Error("vite started a watcher instead of building");
  const outputs = Array.isArray(result) ? result : [result];
  const chunks = outputs.flatMap((o) => o.output).filter((c) => c.type === "chunk");
  expect(chunks).toHaveLength(1);
  return chunks[0]!.code;
}

async function introspects(h: Harness): Promise<boolean> {
  const response = await fetch(h.graphqlUrl, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: INTROSPECTION }) });
  const body = (await response.json()) as { data?: { __schema?: { queryType?: { name?: string } } } };
  return body.data?.__schema?.queryType?.name === "Query";
}

describe.skipIf(skipBrowserTests)("the offline playground in headless Chromium", () => {
  let h: Harness;
  let browser: Browser;
  let context: BrowserContext | undefined;

  beforeAll(async () => {
    h = await startHarness();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await h?.close();
  });

  it("opens from /graphql, loads nothing from outside the machine, and runs the health query", async () => {
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const network = await recordNetwork(context);
    const page = await context.newPage();
    const cspViolations: string[] = [];
    page.on("console", (message) => {
      if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
    });
    const graphqlPosts: Array<{ headers: Record<string, string>; body: string | null }> = [];
    page.on("request", (request) => {
      if (request.method() === "POST" && request.url() === h.graphqlUrl) graphqlPosts.push({ headers: request.headers(), body: request.postData() });
    });

    const landing = await page.goto(h.graphqlUrl);
    expect(landing?.status()).toBe(200);
    expect(page.url()).toBe(`${h.url}/playground/`);

    // Altair is up once its send button renders; then make sure the Health window is the one in view.
    const send = page.locator("button.send-request__button");
    await send.waitFor({ state: "visible", timeout: 20_000 });
    await page.locator(".window-switcher__item", { hasText: "Health" }).click();
    await expect.poll(() => page.locator("app-query-editor").innerText(), { timeout: 10_000 }).toContain("query Health");

    await send.click();
    const result = page.locator("app-query-result");
    await expect.poll(() => result.innerText(), { timeout: 15_000 }).toContain('"OK"');
    expect(await result.innerText()).toContain('"SILICONFLOW"');

    // The other preset window runs as it comes, too: its example variables are valid for the model.
    await page.locator(".window-switcher__item", { hasText: "Generate images" }).click();
    await expect.poll(() => page.locator("app-query-editor").innerText(), { timeout: 10_000 }).toContain("mutation GenerateImages");
    await send.click();
    await expect.poll(() => result.innerText(), { timeout: 15_000 }).toContain('"callId"');
    expect(await result.innerText()).toContain(`${h.url}/images/`);

    // And so does the job example: the submission answers the job, queued.
    await page.locator(".window-switcher__item", { hasText: "Submit a job" }).click();
    await expect.poll(() => page.locator("app-query-editor").innerText(), { timeout: 10_000 }).toContain("mutation SubmitGeneration");
    await send.click();
    await expect.poll(() => result.innerText(), { timeout: 15_000 }).toContain('"submitGeneration"');
    expect(await result.innerText()).toContain('"QUEUED"');

    // The queries went to this gateway, with the CSRF header preconfigured.
    const healthPost = graphqlPosts.find((post) => post.body?.includes("health"));
    expect(healthPost, `POSTs seen: ${graphqlPosts.map((p) => p.body?.slice(0, 60)).join(" | ")}`).toBeDefined();
    expect(healthPost!.headers["apollo-require-preflight"]).toBe("true");

    expect(network.urls.length).toBeGreaterThan(5);
    expect(network.urls.some((url) => url.startsWith(`${h.url}/playground/`) && url.endsWith(".js"))).toBe(true);
    expect(network.external(), `requests that would leave the machine:\n${network.external().join("\n")}`).toEqual([]);
    expect(network.urls.filter((url) => url.startsWith("http") && !isLoopback(url))).toEqual([]);
    expect(cspViolations, cspViolations.join("\n")).toEqual([]);
  });
});

describe.skipIf(skipBrowserTests)("the playground's Docs pane in headless Chromium", () => {
  let h: Harness;
  let browser: Browser;
  beforeAll(async () => {
    h = await startHarness();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  it("introspects through the query limits: Docs lists generateImages and every field of its input", async () => {
    const schema = buildSchema(await readFile(fileURLToPath(new URL("../schema.graphql", import.meta.url)), "utf8"));
    const inputFields = Object.keys((schema.getType("GenerateImagesInput") as GraphQLInputObjectType).getFields());
    expect(inputFields).toContain("prompt");

    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    try {
      await recordNetwork(context);
      const page = await context.newPage();
      const introspections: number[] = [];
      page.on("response", (response) => {
        if (response.url() === h.graphqlUrl && response.request().postData()?.includes("IntrospectionQuery")) introspections.push(response.status());
      });
      await page.goto(`${h.url}/playground/`);
      await page.locator("button.send-request__button").waitFor({ state: "visible", timeout: 20_000 });
      await expect.poll(() => introspections.length, { timeout: 15_000 }).toBeGreaterThan(0);
      expect(introspections.every((status) => status === 200), `introspection answers: ${introspections.join(", ")}`).toBe(true);

      await page.locator("button.url-box__button", { hasText: "Docs" }).click();
      const docs = page.locator("app-doc-viewer");
      await docs.locator(".doc-viewer-item span", { hasText: /^\s*Mutation\s*$/ }).click({ timeout: 10_000 });
      await expect.poll(() => docs.innerText(), { timeout: 10_000 }).toMatch(/generateImages\s*\(\s*input\s+GenerateImagesInput!\s*\)/);

      await docs.getByText("generateImages", { exact: true }).first().click();
      await docs.locator("span.doc-viewer-item-type", { hasText: "GenerateImagesInput" }).first().click({ timeout: 10_000 });
      await expect.poll(() => docs.innerText(), { timeout: 10_000 }).toContain("USED IN OPERATIONS");
      const listed = await docs.innerText();
      for (const field of inputFields) expect(listed, `input field ${field}`).toMatch(new RegExp(`(^|\\n)${field} `));
    } finally {
      await context.close();
    }
  }, 60_000);
});

describe.skipIf(skipBrowserTests)("the playground's subscriptions in headless Chromium", () => {
  let h: Harness;
  let browser: Browser;
  beforeAll(async () => {
    // Every id names a finished job: the preset variables' placeholder id gets its final state.
    h = await startHarness({ jobFeed: jobFeed(new LocalJobEvents(), (id) => Promise.resolve(succeeded(id))) });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  it("the Watch a job window subscribes over graphql-ws on the same path and shows the job's state", async () => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    try {
      const network = await recordNetwork(context);
      const page = await context.newPage();
      const sockets: Array<{ url: string; sent: string[] }> = [];
      page.on("websocket", (socket) => {
        const seen = { url: socket.url(), sent: [] as string[] };
        sockets.push(seen);
        socket.on("framesent", (frame) => seen.sent.push(String(frame.payload)));
      });
      await page.goto(`${h.url}/playground/`);
      const send = page.locator("button.send-request__button");
      await send.waitFor({ state: "visible", timeout: 20_000 });
      await page.locator(".window-switcher__item", { hasText: "Watch a job" }).click();
      await expect.poll(() => page.locator("app-query-editor").innerText(), { timeout: 10_000 }).toContain("subscription GenerationJobUpdated");
      await send.click();
      await expect.poll(() => page.locator("app-query-result").innerText(), { timeout: 15_000 }).toContain('"SUCCEEDED"');

      const socket = sockets.find((seen) => seen.url.endsWith("/graphql"));
      expect(socket, `WebSockets opened: ${sockets.map((seen) => seen.url).join(", ")}`).toBeDefined();
      expect(socket!.url).toBe(`${h.url.replace("http:", "ws:")}/graphql`);
      // graphql-ws's own messages (not subscriptions-transport-ws's "start").
      expect(socket!.sent.some((frame) => frame.includes('"type":"connection_init"'))).toBe(true);
      expect(socket!.sent.some((frame) => frame.includes('"type":"subscribe"'))).toBe(true);
      expect(network.external()).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);
});

describe.skipIf(skipBrowserTests)("the SDK in headless Chromium", () => {
  let h: Harness;
  let browser: Browser;

  beforeAll(async () => {
    h = await startHarness();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  it("bundles for the browser and uploads a canvas-drawn PNG from a page", async () => {
    const code = await bundleSdk();
    expect(code).not.toMatch(/from\s*["']node:|require\(/);

    const context = await browser.newContext();
    try {
      const network = await recordNetwork(context);
      // A page on the gateway's own origin (as an app served next to it would be), made up by the test.
      await context.route(`${h.url}/sdk-check/**`, (route) =>
        route.request().url().endsWith("/sdk.js")
          ? route.fulfill({ contentType: "text/javascript", body: code })
          : route.fulfill({
              contentType: "text/html",
              body: `<!doctype html><title>loading</title><script type="module">import * as sdk from "./sdk.js"; window.gatewaySdk = sdk; document.title = "ready";</script>`,
            }),
      );
      const page = await context.newPage();
      await page.goto(`${h.url}/sdk-check/`);
      await expect.poll(() => page.title(), { timeout: 10_000 }).toBe("ready");

      const before = h.simulator.received.length;
      const outcome = await page.evaluate(async (graphqlUrl) => {
        const sdk = (window as unknown as { gatewaySdk: Sdk }).gatewaySdk;
        const canvas = new OffscreenCanvas(64, 48);
        const ctx = canvas.getContext("2d")!;
        ctx.fillStyle = "#ff00ff";
        ctx.fillRect(0, 0, 64, 48);
        const drawn = await canvas.convertToBlob({ type: "image/png" });
        const client = sdk.createGatewayClient({ url: graphqlUrl });
        const result = await client.generateImages({
          model: "Qwen/Qwen-Image-Edit-2509",
          prompt: "make it teal",
          images: [new File([drawn], "drawn.png", { type: "image/png" })],
        });
        const response = await fetch(result.images[0]!.url);
        const served = new Uint8Array(await response.arrayBuffer());
        let error: unknown[] = [];
        try {
          await client.generateImages({ model: "nobody/no-such-model", prompt: "x" });
        } catch (e) {
          const failure = e as InstanceType<Sdk["GatewayClientError"]>;
          error = [e instanceof sdk.GatewayClientError, failure.code, failure.field];
        }
        return {
          uploaded: Array.from(new Uint8Array(await drawn.arrayBuffer())),
          image: result.images[0],
          servedType: response.headers.get("content-type"),
          servedBytes: served.length,
          error,
        };
      }, h.graphqlUrl);

      expect(h.simulator.received.length).toBe(before + 1);
      const upstream = dataUrlBytes(h.simulator.received.at(-1)!.body.image);
      expect(upstream.mime).toBe("image/png");
      expect(Buffer.compare(upstream.bytes, Buffer.from(outcome.uploaded))).toBe(0);
      expect(outcome.servedType).toBe(outcome.image!.mimeType);
      expect(outcome.servedBytes).toBe(outcome.image!.bytes);
      expect(outcome.error).toEqual([true, "BAD_USER_INPUT", "input.model"]);
      expect(network.external()).toEqual([]);
    } finally {
      await context.close();
    }
  });
});

describe("playground routes and configuration", () => {
  describe("development (playground on by default)", () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness();
    });
    afterAll(async () => {
      await h.close();
    });

    it("sends a browser on GET /graphql to the IDE", async () => {
      const visit = await get(h.graphqlUrl, { accept: HTML_ACCEPT });
      expect(visit.status).toBe(302);
      expect(visit.location).toBe("/playground/");
      const bare = await get(`${h.url}/playground`, { accept: HTML_ACCEPT });
      expect([bare.status, bare.location]).toEqual([301, "/playground/"]);
    });

    it("serves Altair from this server, preconfigured, under a same-origin-only CSP", async () => {
      const page = await get(`${h.url}/playground/`, { accept: HTML_ACCEPT });
      expect(page.status).toBe(200);
      expect(page.type).toContain("text/html");
      expect(page.body).toContain('<base href="/playground/">');
      expect(page.body).toContain("AltairGraphQL.init(");
      expect(page.body).toContain("apollo-require-preflight");
      expect(page.body).toContain("query Health");
      expect(page.body).toContain("mutation GenerateImages");
      // The job operations, and subscriptions over graphql-ws on the GraphQL path.
      for (const operation of ["mutation SubmitGeneration", "subscription GenerationJobUpdated", "query GenerationJob", "mutation CancelGeneration"]) {
        expect(page.body).toContain(operation);
      }
      expect(page.body).toMatch(/subscriptionsEndpoint: `\/graphql`/);
      expect(page.body).toMatch(/initialSubscriptionRequestHandlerId: `graphql-ws`/);
      expect(page.body).toMatch(/disableAccount: true/);
      // Every script and stylesheet of the page is relative: served by the gateway from node_modules.
      const references = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
      expect(references.length).toBeGreaterThan(3);
      expect(references.filter((ref) => /^(?:https?:)?\/\//.test(ref!))).toEqual([]);
      expect(page.csp).toContain("default-src 'self'");
      expect(page.csp).toContain("connect-src 'self'");

      const asset = await get(`${h.url}/playground/main.js`);
      expect(asset.status).toBe(200);
      expect(asset.type).toContain("javascript");
    });

    it("leaves GraphQL GET requests and non-browser GETs on /graphql to Apollo", async () => {
      const query = await get(`${h.graphqlUrl}?query=${encodeURIComponent("{ health { status } }")}`, {
        accept: HTML_ACCEPT,
        "apollo-require-preflight": "true",
      });
      expect(query.status).toBe(200);
      expect(JSON.parse(query.body)).toMatchObject({ data: { health: { status: expect.any(String) } } });

      const json = await get(h.graphqlUrl, { accept: "application/json" });
      expect(json.status).not.toBe(302);
      expect(json.body).not.toContain("AltairGraphQL");
    });

    it("GATEWAY_PLAYGROUND=false turns it off", async () => {
      const off = await startHarness({ env: { GATEWAY_PLAYGROUND: "false" } });
      try {
        const visit = await get(off.graphqlUrl, { accept: HTML_ACCEPT });
        expect(visit.status).not.toBe(302);
        expect((await get(`${off.url}/playground/`)).status).toBe(404);
      } finally {
        await off.close();
      }
    });
  });

  describe("production", () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness({ config: { production: true } });
    });
    afterAll(async () => {
      await h.close();
    });

    it("does not serve the IDE, on /graphql or /playground", async () => {
      const visit = await get(h.graphqlUrl, { accept: HTML_ACCEPT });
      expect(visit.status).not.toBe(302);
      expect(visit.location).toBeNull();
      expect(visit.body).not.toContain("AltairGraphQL");
      expect((await get(`${h.url}/playground/`, { accept: HTML_ACCEPT })).status).toBe(404);
      expect((await get(`${h.url}/playground/main.js`)).status).toBe(404);
    });

    it("can be turned on with GATEWAY_PLAYGROUND=true, and the switch leaves introspection as configured", async () => {
      const on = await startHarness({ config: { production: true }, env: { GATEWAY_PLAYGROUND: "true" } });
      try {
        const visit = await get(on.graphqlUrl, { accept: HTML_ACCEPT });
        expect([visit.status, visit.location]).toEqual([302, "/playground/"]);
        expect((await get(`${on.url}/playground/`)).body).toContain("AltairGraphQL.init(");
        expect(await introspects(on)).toBe(await introspects(h));
      } finally {
        await on.close();
      }
    });
  });
});
