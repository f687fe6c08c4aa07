import { describe, expect, it } from "vitest";
import { TEST_API_KEY, imageSlots, postJson, postMultipart, startHarness } from "./support/harness.js";
import { solidPng } from "./support/images.js";

const GENERATE_CACHED = /* GraphQL */ `
  mutation Generate($input: GenerateImagesInput!) {
    generateImages(input: $input) { callId cacheHit seed images { url bytes } }
  }
`;
function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text
    .split("\n")
    .find((l) => (l.startsWith(`${name} `) || l.startsWith(`${name}{`)) && wanted.every((w) => l.includes(w)));
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
}

describe("metrics", () => {
  it("count calls by model and status, durations, bytes, images, cache hits and refusals", async () => {
    const h = await startHarness({ config: { siliconflow: { maxConcurrency: 1, maxQueue: 0 } }, simulator: { latencyMs: 200 } });
    try {
      const png = await solidPng(64, 64, "#00ff00");
      await postMultipart(h.graphqlUrl, GENERATE_CACHED, { input: { model: "Qwen/Qwen-Image-Edit", prompt: "m", images: imageSlots(1), seed: 5 } }, [
        { path: "variables.input.images.0", data: png },
      ]);
      await postJson(h.graphqlUrl, GENERATE_CACHED, { input: { model: "Kwai-Kolors/Kolors", prompt: "k", batchSize: 2, seed: 3 } });
      await postJson(h.graphqlUrl, GENERATE_CACHED, { input: { model: "Kwai-Kolors/Kolors", prompt: "k", batchSize: 2, seed: 3 } });
      await postJson(h.graphqlUrl, GENERATE_CACHED, { input: { model: "Qwen/Qwen-Image", prompt: "" } });
      await Promise.all([1, 2].map((seed) => postJson(h.graphqlUrl, GENERATE_CACHED, { input: { model: "Qwen/Qwen-Image", prompt: "busy", seed } })));

      const response = await fetch(`${h.url}/metrics`);
      expect(response.headers.get("content-type")).toMatch(/text\/plain/);
      const text = await response.text();
      const p = "siliconflow_gateway_";
      expect(metricValue(text, `${p}generations_total`, { model: "Kwai-Kolors/Kolors", status: "success" })).toBe(2);
      expect(metricValue(text, `${p}generations_total`, { model: "Qwen/Qwen-Image-Edit", status: "success" })).toBe(1);
      expect(metricValue(text, `${p}generations_total`, { model: "Qwen/Qwen-Image", status: "failed" })).toBe(2);
      expect(metricValue(text, `${p}generations_total`, { model: "Qwen/Qwen-Image", status: "success" })).toBe(1);
      expect(metricValue(text, `${p}call_duration_seconds_count`, { status: "success" })).toBe(4);
      expect(metricValue(text, `${p}upstream_duration_seconds_count`, { model: "Kwai-Kolors/Kolors" })).toBe(1);
      expect(metricValue(text, `${p}upstream_duration_seconds_sum`, { model: "Qwen/Qwen-Image-Edit" })).toBeGreaterThanOrEqual(0.2);
      expect(metricValue(text, `${p}upload_bytes_total`)).toBe(png.length);
      expect(metricValue(text, `${p}output_images_total`, { model: "Kwai-Kolors/Kolors" })).toBe(4);
      expect(metricValue(text, `${p}cache_hits_total`, { model: "Kwai-Kolors/Kolors" })).toBe(1);
      expect(metricValue(text, `${p}rate_limited_total`, { code: "RATE_LIMITED" })).toBe(1);
      expect(metricValue(text, `${p}calls_in_flight`)).toBe(0);
      expect(text).toContain("process_resident_memory_bytes");
      expect(text).not.toContain(TEST_API_KEY);
    } finally {
      await h.close();
    }
  });
});
