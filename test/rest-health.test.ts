import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { startSimulator } from "../src/simulator/simulator.js";
import { startHarness, TEST_API_KEY } from "./support/harness.js";

/** A loopback proxy in front of the simulator that counts every request SiliconFlow would receive. */
async function countingProxy(target: string): Promise<{ url: string; count: () => number; close: () => Promise<void> }> {
  const upstream = new URL(target);
  let count = 0;
  const server: Server = createServer((incoming, outgoing) => {
    count += 1;
    const forwarded = httpRequest({ host: upstream.hostname, port: upstream.port, method: incoming.method, path: incoming.url, headers: incoming.headers }, (answer) => {
      outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(outgoing);
    });
    forwarded.on("error", () => outgoing.destroy());
    incoming.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${upstream.pathname}`,
    count: () => count,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe("GET /health, as the original design describes it", () => {
  it("answers the status and the available models, from the registry, with no request upstream", async () => {
    const simulator = await startSimulator({ apiKey: TEST_API_KEY });
    const proxy = await countingProxy(simulator.url);
    const h = await startHarness({ config: { siliconflow: { baseUrl: proxy.url } } });
    try {
      // Wait for the start-up model list to have been asked for, so only the probe's own requests remain.
      await expect.poll(() => proxy.count(), { timeout: 5_000 }).toBeGreaterThan(0);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const before = proxy.count();
      for (let i = 0; i < 20; i += 1) {
        const response = await fetch(`${h.url}/health`);
        expect(response.status).toBe(200);
        const body = (await response.json()) as { status: string; version: string; uptimeSeconds: number; models: Array<{ id: string; kind: string; max_input_images: number; image_sizes: string[] }> };
        expect(body.status).toBe("ok");
        expect(body.version).toMatch(/^\d+\.\d+\.\d+/);
        expect(body.uptimeSeconds).toBeGreaterThanOrEqual(0);
        expect(body.models.map((model) => model.id)).toEqual(expect.arrayContaining(["Kwai-Kolors/Kolors", "Qwen/Qwen-Image-Edit-2509"]));
        expect(body.models.find((model) => model.id === "Qwen/Qwen-Image-Edit-2509")).toMatchObject({ kind: "IMAGE_EDIT", max_input_images: 3, image_sizes: [] });
      }
      expect(proxy.count()).toBe(before);
    } finally {
      await h.close();
      await proxy.close();
      await simulator.close();
    }
  });

  it("hides the models from a caller without a token when queries are protected, and stays 200 for the probes", async () => {
    const h = await startHarness({ config: { auth: { tokens: ["team-token-0001"], protectQueries: true } } });
    try {
      const open = await fetch(`${h.url}/health`);
      expect(open.status).toBe(200);
      const body = (await open.json()) as Record<string, unknown>;
      expect(body.status).toBe("ok");
      expect(body).not.toHaveProperty("models");
      const withToken = (await (await fetch(`${h.url}/health`, { headers: { authorization: "Bearer team-token-0001" } })).json()) as { models: unknown[] };
      expect(withToken.models.length).toBeGreaterThan(0);
    } finally {
      await h.close();
    }
  });
});
