import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, recordNetwork, skipBrowserTests } from "./support/browser.js";
import { startHarness, type Harness } from "./support/harness.js";

describe.skipIf(skipBrowserTests)("the REST docs page in headless Chromium", () => {
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

  it("loads offline from the gateway, lists the OpenAI operations, and runs one against the gateway", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      const network = await recordNetwork(context);
      const page = await context.newPage();
      const cspViolations: string[] = [];
      page.on("console", (message) => {
        if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
      });
      const landing = await page.goto(`${h.url}/docs`);
      expect(landing?.status()).toBe(200);

      const operations = page.locator(".opblock-summary");
      await expect.poll(() => operations.count(), { timeout: 20_000 }).toBeGreaterThanOrEqual(3);
      const listed = await page.locator("section.swagger-ui").innerText();
      for (const path of ["/v1/images/generations", "/v1/images/edits", "/v1/models"]) expect(listed).toContain(path);
      expect(listed).toContain("OpenAI Images API");

      // The page talks to the gateway it came from: Try it out on the model list.
      const models = page.locator(".opblock-get", { hasText: "/v1/models" });
      await models.locator(".opblock-summary").click();
      await models.getByRole("button", { name: "Try it out" }).click();
      await models.getByRole("button", { name: "Execute" }).click();
      await expect.poll(() => models.locator(".responses-wrapper").innerText(), { timeout: 15_000 }).toContain("Kwai-Kolors/Kolors");

      expect(network.urls.some((url) => url.startsWith(`${h.url}/docs/`) && url.endsWith(".js"))).toBe(true);
      expect(network.urls).toContain(`${h.url}/v1/models`);
      expect(network.external(), `requests that would leave the machine:\n${network.external().join("\n")}`).toEqual([]);
      expect(cspViolations, cspViolations.join("\n")).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);
});
