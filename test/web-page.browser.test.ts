import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Fastify from "fastify";
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerWebApp } from "../src/http/web-app.js";
import { builtinModels } from "../src/simulator/simulator.js";
import { launchChromium, recordNetwork, skipBrowserTests, type NetworkLog } from "./support/browser.js";
import { postJson, startHarness, type Harness } from "./support/harness.js";
import { solidPng } from "./support/images.js";
import { pollJob, submitJob } from "./support/jobs.js";
import { waitFor } from "./support/wait.js";
import { ensureWebBuilt } from "./support/web-build.js";

const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const SCREENSHOT = path.join(PACKAGE_ROOT, "docs", "web-page.png");
const EDIT_MODEL = "Qwen/Qwen-Image-Edit-2509";
const TEXT_MODEL = "Kwai-Kolors/Kolors";
/** No input images and no guidance. */
const PLAIN_MODEL = "Tongyi-MAI/Z-Image-Turbo";
/** Left out of the simulator's model list, as a model the API key may not call. */
const UNAVAILABLE_MODEL = "baidu/ERNIE-Image-Turbo";

describe("the page's files, served by the gateway", () => {
  let h: Harness;
  beforeAll(async () => {
    await ensureWebBuilt();
    h = await startHarness();
  }, 120_000);
  afterAll(async () => {
    await h?.close();
  });

  it("serves index.html at / uncached, hashed assets for good, and leaves the API routes alone", async () => {
    const page = await fetch(`${h.url}/`);
    const html = await page.text();
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(page.headers.get("cache-control")).toBe("no-cache");
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(page.headers.get("etag")).toBeTruthy();

    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    const style = /href="(\/assets\/[^"]+\.css)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    expect(style).toBeDefined();
    for (const [asset, type] of [
      [script!, /javascript/],
      [style!, /^text\/css/],
    ] as const) {
      const response = await fetch(`${h.url}${asset}`);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toMatch(type);
      expect(response.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      await response.arrayBuffer();
    }

    const health = await fetch(`${h.url}/health`);
    expect(health.headers.get("content-type")).toMatch(/json/);
    expect(((await health.json()) as { status: string }).status).toBe("ok");
    const missingImage = await fetch(`${h.url}/images/not-a-kept-image.png`);
    expect(missingImage.status).toBe(404);
    expect(missingImage.headers.get("content-type")).toMatch(/json/);
    await missingImage.arrayBuffer();
    const unknown = await fetch(`${h.url}/no-such-page`);
    expect(unknown.status).toBe(404);
    await unknown.arrayBuffer();
    const { body } = await postJson(h.graphqlUrl, "{ __typename }");
    expect(body.data).toEqual({ __typename: "Query" });
  });

  it("says how to build the page when it has not been built, instead of failing", async () => {
    const empty = await mkdtemp(path.join(tmpdir(), "web-not-built-"));
    const app = Fastify();
    try {
      registerWebApp(app, { root: path.join(empty, "dist") });
      const response = await app.inject({ method: "GET", url: "/" });
      expect(response.statusCode).toBe(503);
      expect(response.headers["content-type"]).toMatch(/^text\/plain/);
      expect(response.body).toContain("npm run build");
    } finally {
      await app.close();
      await rm(empty, { recursive: true, force: true });
    }
  });
});

/** The tests below are the steps of one browser session, in order: each starts where the last ended. */
describe.skipIf(skipBrowserTests)("the page in headless Chromium, against the simulator", () => {
  let h: Harness;
  let browser: Browser;
  let files: string;
  let context: BrowserContext;
  let page: Page;
  let network: NetworkLog;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    await ensureWebBuilt();
    // SiliconFlow's model list (here the simulator's) decides availability.
    // One job at a time, so a job can be seen waiting QUEUED behind another.
    h = await startHarness({ simulator: { models: builtinModels.filter((model) => model.id !== UNAVAILABLE_MODEL) }, config: { jobs: { workerConcurrency: 1 } } });
    // Wait for the gateway's first probe of that list, so the page sees settled availability.
    await postJson(h.graphqlUrl, "{ health { status } }");
    browser = await launchChromium();
    files = await mkdtemp(path.join(tmpdir(), "web-page-files-"));
    await writeFile(path.join(files, "red.png"), await solidPng(320, 240, "#d03030"));
    await writeFile(path.join(files, "notes.txt"), "these are notes, not a picture\n");
    // Named and typed as a PNG, so only the gateway's decoder can tell it is not one.
    await writeFile(path.join(files, "fake.png"), "this is text pretending to be a PNG\n");

    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: "light" });
    network = await recordNetwork(context);
    page = await context.newPage();
    // Fail at the step that hangs, well inside the test's own timeout.
    page.setDefaultTimeout(10_000);
    // Playwright turns Chromium's file-chooser interception on when the first listener is added, without
    // waiting: added next to the click, it loses the race now and then and the chooser opens unseen.
    page.on("filechooser", () => undefined);
    page.on("pageerror", (error) => pageErrors.push(`pageerror: ${error.message}`));
    page.on("console", (message) => {
      if (message.type() === "error") pageErrors.push(`console: ${message.text()}`);
    });
    await page.goto(`${h.url}/`);
    await page.locator("#model:not([disabled]) option").first().waitFor({ state: "attached" });
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await h?.close();
    if (files) await rm(files, { recursive: true, force: true });
  });

  const graphqlCalls = (): number => network.urls.filter((url) => new URL(url).pathname === "/graphql").length;

  it("lists every model, unavailable ones disabled", async () => {
    const { body } = await postJson<{ models: Array<{ id: string; available: boolean }> }>(h.graphqlUrl, "{ models { id available } }");
    const options = await page.locator("#model option").evaluateAll((all) =>
      all.map((option) => ({ id: (option as HTMLOptionElement).value, available: !(option as HTMLOptionElement).disabled })),
    );
    expect(options).toEqual(body.data!.models.map(({ id, available }) => ({ id, available })));
    expect(options.filter((option) => !option.available).map((option) => option.id)).toEqual([UNAVAILABLE_MODEL]);
    expect(await page.locator(`#model option[value="${UNAVAILABLE_MODEL}"]`).textContent()).toContain("not available");
  });

  it("picks an edit model, uploads a picture from the keyboard, generates, and lists the call", async () => {
    await page.getByRole("combobox", { name: "Model", exact: true }).selectOption(EDIT_MODEL);
    // The form follows the model: no sizes or batch for this one, CFG rather than guidance scale.
    expect(await page.locator("#size-field").isVisible()).toBe(false);
    expect(await page.locator("#batch-field").isVisible()).toBe(false);
    expect(await page.getByLabel("Negative prompt").isVisible()).toBe(true);
    const cfg = page.getByLabel("CFG", { exact: true });
    expect(await cfg.isVisible()).toBe(true);
    expect(Number(await cfg.getAttribute("max"))).toBeGreaterThan(Number(await cfg.getAttribute("min")));

    const dropzone = page.getByRole("button", { name: /Choose images/ });
    await dropzone.focus();
    const [chooser] = await Promise.all([page.waitForEvent("filechooser"), page.keyboard.press("Enter")]);
    await chooser.setFiles(path.join(files, "red.png"));
    await page.getByRole("img", { name: "Preview of red.png" }).waitFor();

    await page.getByRole("textbox", { name: "Prompt", exact: true }).fill("make the sky purple");
    await page.getByRole("button", { name: "Generate" }).click();

    await page.waitForFunction(
      () => {
        const images = Array.from(document.querySelectorAll<HTMLImageElement>("#results img"));
        return images.length > 0 && images.every((image) => image.complete && image.naturalWidth > 0);
      },
      undefined,
      { timeout: 20_000 },
    );
    const results = await page.locator("#results img").evaluateAll((all) =>
      all.map((image) => ({ src: (image as HTMLImageElement).src, width: (image as HTMLImageElement).naturalWidth })),
    );
    expect(results.length).toBe(1);
    for (const result of results) {
      expect(result.src.startsWith(`${h.url}/images/`)).toBe(true);
      expect(result.width).toBeGreaterThan(0);
    }
    const download = page.getByRole("link", { name: /Download/ }).first();
    expect(await download.getAttribute("href")).toBe(results[0]!.src);
    expect(await download.getAttribute("download")).toMatch(/^Qwen-Image-Edit-2509-\d+-1\.png$/);
    expect(await page.locator("#results-summary").textContent()).toMatch(/Seed \d+/);
    expect(await page.locator("#generate-form").getAttribute("aria-busy")).toBe("false");

    const sent = h.simulator.received.at(-1)!.body;
    expect(sent).toMatchObject({ model: EDIT_MODEL, prompt: "make the sky purple" });
    expect(String(sent.image)).toMatch(/^data:image\/png;base64,/);

    const latest = page.locator("#history li").first();
    await latest.getByText("Done").waitFor();
    expect(await latest.textContent()).toContain("Qwen-Image-Edit-2509");
    expect(await latest.textContent()).toContain("make the sky purple");
    await page.waitForFunction(() => {
      const thumb = document.querySelector<HTMLImageElement>("#history li img");
      return thumb !== null && thumb.complete && thumb.naturalWidth > 0;
    });
    const stored = await page.evaluate(() => localStorage.getItem("siliconflow-gateway.calls.v1"));
    expect(JSON.parse(stored ?? "[]")).toMatchObject([{ model: EDIT_MODEL, status: "success", thumbnails: [results[0]!.src] }]);

    if (process.env.UPDATE_SCREENSHOT === "1") {
      await mkdir(path.dirname(SCREENSHOT), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
    }
  });

  it("refuses a text file in the browser, before anything is sent", async () => {
    await page.getByRole("button", { name: "Remove red.png" }).click();
    const before = graphqlCalls();
    await page.locator("#images").setInputFiles(path.join(files, "notes.txt"));
    await page.locator("#images-problems").getByText("notes.txt is not an image the gateway accepts").waitFor();
    await page.getByRole("button", { name: "Generate" }).click();
    await page.getByRole("alert").getByText("needs at least 1 input image").waitFor();
    expect(graphqlCalls()).toBe(before);
  });

  it("explains the server's refusal of a file that only looks like a PNG, naming the file field", async () => {
    const received = h.simulator.received.length;
    await page.locator("#images").setInputFiles(path.join(files, "fake.png"));
    await page.getByText("1. fake.png").waitFor();
    await page.getByRole("button", { name: "Generate" }).click();

    const alert = page.getByRole("alert");
    await alert.getByText("BAD_USER_INPUT").waitFor({ timeout: 20_000 });
    const text = (await alert.textContent()) ?? "";
    expect(text).toContain("The gateway did not accept Input image 1 (fake.png).");
    expect(text).toContain("input.images[0] is not an image");
    expect(text).toContain("field input.images[0]");
    expect(await page.getByRole("button", { name: /Choose images/ }).getAttribute("aria-invalid")).toBe("true");
    // Refused by the gateway's decoder: nothing went to SiliconFlow.
    expect(h.simulator.received.length).toBe(received);

    const latest = page.locator("#history li").first();
    expect(await latest.textContent()).toContain("Failed · BAD_USER_INPUT");
    await page.getByRole("button", { name: "Remove fake.png" }).click();
  });

  /** A job submitted past the page that holds the only worker slot for `ms`, so the page's next job waits QUEUED. */
  const holdTheWorker = async (ms: number): Promise<void> => {
    h.simulator.addFault({ fault: { kind: "latency", ms }, times: 1 });
    const received = h.simulator.received.length;
    const { body } = await submitJob(h.graphqlUrl, { model: TEXT_MODEL, prompt: "holds the worker", imageSize: "768x1024" });
    expect(body.errors).toBeUndefined();
    await pollJob(h.graphqlUrl, body.data!.submitGeneration.id, ["RUNNING"]);
    await waitFor(() => Promise.resolve(h.simulator.received.length > received || undefined));
  };

  it("shows a job queued behind another live, and cancels it while it waits: nothing reaches SiliconFlow", async () => {
    const model = page.getByRole("combobox", { name: "Model", exact: true });
    await model.selectOption(PLAIN_MODEL);
    // No input images and no guidance for this one.
    expect(await page.locator("#images-field").isVisible()).toBe(false);
    expect(await page.locator("#guidance-field").isVisible()).toBe(false);
    await model.selectOption(TEXT_MODEL);
    // An optional input image, sizes, a batch and a guidance scale for this one.
    expect(await page.locator("#images-hint").textContent()).toMatch(/^Up to 1 image/);
    expect(await page.getByLabel("Image size").isVisible()).toBe(true);
    expect(await page.getByLabel("Number of images").getAttribute("max")).toMatch(/^[2-9]$/);
    expect(await page.getByLabel("Guidance scale").isVisible()).toBe(true);

    await holdTheWorker(4_000);
    const received = h.simulator.received.length;
    await page.getByRole("textbox", { name: "Prompt", exact: true }).fill("a lighthouse at dusk");
    await page.getByRole("button", { name: "Generate" }).click();
    await page.locator('#generate-form[aria-busy="true"]').waitFor();
    expect(await page.locator("#submit").isDisabled()).toBe(true);
    await page.getByRole("status").getByText(/Queued for Kolors, next in line/).waitFor();
    expect(await page.getByRole("status").textContent()).toContain("This can take a minute");
    expect(await page.evaluate(() => localStorage.getItem("siliconflow-gateway.pending-job.v1"))).toContain("a lighthouse at dusk");

    await page.getByRole("button", { name: "Cancel" }).click();
    await page.getByRole("alert").getByText("Cancelled.").waitFor();
    expect(await page.getByRole("alert").textContent()).toContain("nothing was billed");
    expect(await page.locator("#generate-form").getAttribute("aria-busy")).toBe("false");
    expect(await page.locator("#submit").isDisabled()).toBe(false);
    expect(await page.locator("#history li").first().textContent()).toContain("Cancelled");
    expect(await page.evaluate(() => localStorage.getItem("siliconflow-gateway.pending-job.v1"))).toBeNull();
    // Only the job ahead reached SiliconFlow.
    expect(h.simulator.received.length).toBe(received);
  });

  it("picks an unfinished job up again after a reload, and shows it running, then done", async () => {
    await holdTheWorker(2_000);
    // The page's own job takes a while too, so it is seen running.
    h.simulator.addFault({ fault: { kind: "latency", ms: 1_500 }, times: 1 });
    await page.getByRole("textbox", { name: "Prompt", exact: true }).fill("a harbour after the reload");
    await page.getByRole("button", { name: "Generate" }).click();
    await page.getByRole("status").getByText(/Queued for/).waitFor();
    const pending = JSON.parse((await page.evaluate(() => localStorage.getItem("siliconflow-gateway.pending-job.v1"))) ?? "null") as { id: string } | null;
    expect(pending?.id).toMatch(/^[0-9a-f-]{36}$/);

    await page.reload();
    await page.locator('#generate-form[aria-busy="true"]').waitFor();
    await page.getByRole("status").getByText(/Generating with/).waitFor({ timeout: 15_000 });
    await page.getByRole("status").getByText(/^Done: 1 image/).waitFor({ timeout: 15_000 });
    await page.waitForFunction(() => {
      const images = Array.from(document.querySelectorAll<HTMLImageElement>("#results img"));
      return images.length > 0 && images.every((image) => image.complete && image.naturalWidth > 0);
    });
    const latest = page.locator("#history li").first();
    await latest.getByText("Done").waitFor();
    expect(await latest.textContent()).toContain("a harbour after the reload");
    expect(await page.evaluate(() => localStorage.getItem("siliconflow-gateway.pending-job.v1"))).toBeNull();
    expect(h.simulator.received.at(-1)!.body).toMatchObject({ prompt: "a harbour after the reload" });
  });

  it("follows the job by polling generationJob when no WebSocket gets through", async () => {
    const polling = await context.newPage();
    try {
      polling.setDefaultTimeout(10_000);
      polling.on("pageerror", (error) => pageErrors.push(`pageerror: ${error.message}`));
      // As a proxy that refuses upgrades would: every WebSocket to the gateway closes as it opens.
      await polling.routeWebSocket(/\/graphql$/, (socket) => socket.close({ code: 1011, reason: "no upgrades here" }));
      const asked: string[] = [];
      polling.on("request", (request) => {
        const operation = /"operationName":"(\w+)"/.exec(request.postData() ?? "")?.[1];
        if (operation) asked.push(operation);
      });
      await polling.goto(`${h.url}/`);
      await polling.locator("#model:not([disabled]) option").first().waitFor({ state: "attached" });
      await polling.getByRole("combobox", { name: "Model", exact: true }).selectOption(PLAIN_MODEL);
      await polling.getByRole("textbox", { name: "Prompt", exact: true }).fill("a harbour seen by polling");
      await polling.getByRole("button", { name: "Generate" }).click();
      await polling.getByRole("status").getByText(/^Done: 1 image/).waitFor({ timeout: 30_000 });
      expect(asked).toContain("GenerationJob");
      expect(await polling.locator("#history li").first().textContent()).toContain("a harbour seen by polling");
    } finally {
      await polling.close();
    }
  }, 45_000);

  it("made no request beyond this machine, and raised no page errors", () => {
    expect(network.external()).toEqual([]);
    expect(network.urls.length).toBeGreaterThan(0);
    expect(pageErrors).toEqual([]);
  });
});

const ACCESS_TOKEN = "web-test-token-123";
const NEEDS_TOKEN = "The gateway needs an access token: enter it under Access token.";

interface SentOperation {
  operation: "Models" | "SubmitGeneration" | "other";
  authorization: string | undefined;
  preflight: string | undefined;
}

/** The page's GraphQL posts as Chromium sent them, headers included: the gateway's token never reaches the simulator. */
function recordOperations(page: Page): SentOperation[] {
  const sent: SentOperation[] = [];
  page.on("request", (request) => {
    if (request.method() !== "POST" || new URL(request.url()).pathname !== "/graphql") return;
    const body = request.postData() ?? "";
    const operation = /"operationName":"(Models|SubmitGeneration)"/.exec(body)?.[1] as SentOperation["operation"] | undefined;
    const headers = request.headers();
    sent.push({ operation: operation ?? "other", authorization: headers.authorization, preflight: headers["apollo-require-preflight"] });
  });
  return sent;
}

/** Every value the page's origin keeps in localStorage, keys included, as one string to search. */
async function localStorageText(page: Page): Promise<string> {
  return page.evaluate(() => Object.entries(localStorage).flat().join("\n"));
}

/** The tests below are the steps of one browser session, in order: each starts where the last ended. */
describe.skipIf(skipBrowserTests)("the page against a gateway that requires an access token", () => {
  let h: Harness;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let network: NetworkLog;
  let sent: SentOperation[];
  const socketFrames: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    await ensureWebBuilt();
    h = await startHarness({ config: { auth: { tokens: [ACCESS_TOKEN] } } });
    await postJson(h.graphqlUrl, "{ health { status } }");
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: "light" });
    network = await recordNetwork(context);
    page = await context.newPage();
    page.setDefaultTimeout(10_000);
    page.on("pageerror", (error) => pageErrors.push(`pageerror: ${error.message}`));
    page.on("console", (message) => {
      if (message.type() === "error") pageErrors.push(`console: ${message.text()}`);
    });
    sent = recordOperations(page);
    page.on("websocket", (socket) => socket.on("framesent", (frame) => socketFrames.push(String(frame.payload))));
    await page.goto(`${h.url}/`);
    await page.locator("#model:not([disabled]) option").first().waitFor({ state: "attached" });
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await h?.close();
  });

  const tokenField = (): Locator => page.getByLabel("Access token", { exact: true });

  it("offers an empty, labelled password field, and lists the models without a token (queries stay open)", async () => {
    const field = tokenField();
    expect(await field.getAttribute("type")).toBe("password");
    expect(await field.getAttribute("autocomplete")).toBe("off");
    expect(await field.inputValue()).toBe("");
    const hintId = await field.getAttribute("aria-describedby");
    expect(await page.locator(`#${hintId}`).textContent()).toContain("Only if the gateway asks for one");
    expect(await page.locator("#model option").count()).toBeGreaterThan(1);
    expect(sent).toEqual([{ operation: "Models", authorization: undefined, preflight: "true" }]);
  });

  it("without a token, says to fill in Access token, marks and focuses it, and nothing reaches SiliconFlow", async () => {
    const received = h.simulator.received.length;
    await page.getByRole("combobox", { name: "Model", exact: true }).selectOption(PLAIN_MODEL);
    await page.getByRole("textbox", { name: "Prompt", exact: true }).fill("a quiet harbour");
    await page.getByRole("button", { name: "Generate" }).click();

    const alert = page.getByRole("alert");
    await alert.getByText("UNAUTHENTICATED").waitFor();
    expect(await alert.locator(".error__headline").textContent()).toBe(NEEDS_TOKEN);
    expect(await tokenField().getAttribute("aria-invalid")).toBe("true");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("access-token");
    expect(h.simulator.received.length).toBe(received);
    expect(sent.at(-1)).toEqual({ operation: "SubmitGeneration", authorization: undefined, preflight: "true" });
    expect(await page.locator("#history li").first().textContent()).toContain("Failed · UNAUTHENTICATED");
  });

  it("sends a token typed after the page loaded as a bearer header, and generates", async () => {
    const received = h.simulator.received.length;
    await tokenField().fill(ACCESS_TOKEN);
    await page.getByRole("button", { name: "Generate" }).click();
    await page.waitForFunction(
      () => {
        const images = Array.from(document.querySelectorAll<HTMLImageElement>("#results img"));
        return images.length > 0 && images.every((image) => image.complete && image.naturalWidth > 0);
      },
      undefined,
      { timeout: 20_000 },
    );
    expect(await page.getByRole("alert").isVisible()).toBe(false);
    expect(await tokenField().getAttribute("aria-invalid")).toBeNull();
    expect(h.simulator.received.length).toBe(received + 1);
    expect(h.simulator.received.at(-1)!.body).toMatchObject({ model: PLAIN_MODEL, prompt: "a quiet harbour" });
    expect(sent.at(-1)).toEqual({ operation: "SubmitGeneration", authorization: `Bearer ${ACCESS_TOKEN}`, preflight: "true" });
    // The job was followed over the WebSocket, whose connection_init carried the same token.
    const inits = socketFrames.filter((frame) => frame.includes('"type":"connection_init"'));
    expect(inits.at(-1)).toContain(`"authorization":"Bearer ${ACCESS_TOKEN}"`);
    expect(socketFrames.some((frame) => frame.includes('"type":"subscribe"') && frame.includes("GenerationJobUpdated"))).toBe(true);
    // The model list loaded fine without a token: a new token is no reason to fetch it again.
    expect(sent.filter((call) => call.operation === "Models")).toHaveLength(1);

    await page.locator("#history li").first().getByText("Done").waitFor();
    expect(await localStorageText(page)).toContain("a quiet harbour");
    expect(await localStorageText(page)).not.toContain(ACCESS_TOKEN);
  });

  it("keeps the token through a reload of the tab, in sessionStorage only, and never in the markup", async () => {
    await page.reload();
    await page.locator("#model:not([disabled]) option").first().waitFor({ state: "attached" });
    expect(await tokenField().inputValue()).toBe(ACCESS_TOKEN);
    // Restored before the first call: the reloaded page's model list already went with it.
    expect(sent.at(-1)).toEqual({ operation: "Models", authorization: `Bearer ${ACCESS_TOKEN}`, preflight: "true" });

    expect(await page.evaluate(() => Object.values(sessionStorage))).toContain(ACCESS_TOKEN);
    expect(await localStorageText(page)).not.toContain(ACCESS_TOKEN);
    // outerHTML holds attributes, not the input's live value: the token must not be in either.
    expect(await page.evaluate(() => document.documentElement.outerHTML)).not.toContain(ACCESS_TOKEN);
    expect(await page.locator("#history").textContent()).not.toContain(ACCESS_TOKEN);

    // sessionStorage belongs to the tab: another tab of the same browser starts without the token.
    const other = await context.newPage();
    try {
      await other.goto(`${h.url}/`);
      await other.locator("#model:not([disabled]) option").first().waitFor({ state: "attached" });
      expect(await other.getByLabel("Access token", { exact: true }).inputValue()).toBe("");
    } finally {
      await other.close();
    }
  });

  it("made no request beyond this machine, and raised no page errors", () => {
    expect(network.external()).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});

describe.skipIf(skipBrowserTests)("the page against a gateway that protects its queries too", () => {
  let h: Harness;
  let browser: Browser;
  let page: Page;
  let sent: SentOperation[];

  beforeAll(async () => {
    await ensureWebBuilt();
    h = await startHarness({ config: { auth: { tokens: [ACCESS_TOKEN], protectQueries: true } } });
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: "light" });
    await recordNetwork(context);
    page = await context.newPage();
    page.setDefaultTimeout(10_000);
    sent = recordOperations(page);
    await page.goto(`${h.url}/`);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  it("asks for the token when the model list is refused, then lists the models once it is typed", async () => {
    const alert = page.getByRole("alert");
    await alert.getByText("UNAUTHENTICATED").waitFor();
    expect(await alert.locator(".error__headline").textContent()).toBe(`The list of models could not be loaded. ${NEEDS_TOKEN}`);
    const field = page.getByLabel("Access token", { exact: true });
    expect(await field.getAttribute("aria-invalid")).toBe("true");
    expect(sent).toEqual([{ operation: "Models", authorization: undefined, preflight: "true" }]);

    await field.fill(ACCESS_TOKEN);
    await page.locator("#model:not([disabled]) option").first().waitFor({ state: "attached" });
    expect(await page.locator("#model option").count()).toBeGreaterThan(1);
    expect(await alert.isVisible()).toBe(false);
    expect(await field.getAttribute("aria-invalid")).toBeNull();
    expect(sent.slice(1)).toEqual([{ operation: "Models", authorization: `Bearer ${ACCESS_TOKEN}`, preflight: "true" }]);
  });
});
