import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { closeServers, freePort } from "../support/loopback.js";
import { HealthService } from "../../src/upstream/health.service.js";
import { SiliconFlowClient } from "../../src/upstream/siliconflow-client.js";

const servers: Server[] = [];

/** A loopback upstream whose model list answers `status` with `body`, or never answers. */
async function modelList(status: number | "hang", body = ""): Promise<string> {
  const server = createServer((_request, response) => {
    if (status === "hang") return;
    response.writeHead(status, { "content-type": "application/json" });
    response.end(body);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
}

/** A port nothing listens on. */
async function closedPortUrl(): Promise<string> {
  return `http://127.0.0.1:${await freePort()}/v1`;
}

/** The health service probing a real client, as the gateway wires it. */
function healthOf(baseUrl: string, probeTimeoutMs = 5_000): HealthService {
  const upstream = new SiliconFlowClient({ baseUrl, apiKey: "sk-unit-test-FAKE-0000000000", timeoutMs: 5_000, maxRetries: 0, downloadTimeoutMs: 5_000 });
  return new HealthService({ cacheMs: 60_000, probe: async () => void (await upstream.listModelIds(probeTimeoutMs)) });
}

afterEach(() => closeServers(servers));

describe("health state of the upstream", () => {
  it("OK when the model list answers", async () => {
    const health = await healthOf(await modelList(200, '{"object":"list","data":[{"id":"Kwai-Kolors/Kolors"}]}')).check();
    expect(health).toMatchObject({ state: "OK", reachable: true, error: null });
    expect(health.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it.each([
    [500, "DEGRADED"],
    [503, "DEGRADED"],
    [429, "DEGRADED"],
    [400, "DEGRADED"],
    [401, "DOWN"],
    [403, "DOWN"],
    [404, "DOWN"],
  ] as const)("HTTP %i: reachable, %s", async (status, state) => {
    const health = await healthOf(await modelList(status, '"nope"')).check();
    expect(health.state).toBe(state);
    expect(health.reachable).toBe(true);
    expect(health.latencyMs).not.toBeNull();
    expect(health.error).toBeTruthy();
  });

  it("an answer that is not JSON: reachable, DEGRADED", async () => {
    const health = await healthOf(await modelList(200, "<html>maintenance</html>")).check();
    expect(health).toMatchObject({ state: "DEGRADED", reachable: true });
  });

  it("nothing listening: unreachable, DOWN, no latency", async () => {
    const health = await healthOf(await closedPortUrl()).check();
    expect(health).toMatchObject({ state: "DOWN", reachable: false, latencyMs: null });
  });

  it("no answer within the probe's timeout: unreachable, DOWN", async () => {
    const health = await healthOf(await modelList("hang"), 200).check();
    expect(health).toMatchObject({ state: "DOWN", reachable: false });
  });

  it("an error never carries the key", async () => {
    const health = await healthOf(await modelList(500, '{"message":"bad key sk-unit-test-FAKE-0000000000"}')).check();
    expect(health.error).not.toContain("sk-unit-test-FAKE-0000000000");
  });
});

describe("health probe caching", () => {
  it("one probe serves askers while fresh, concurrent askers share one probe, a stale one probes again", async () => {
    let clock = 1_000_000;
    let probes = 0;
    let release!: () => void;
    const health = new HealthService({
      cacheMs: 15_000,
      now: () => clock,
      probe: () => {
        probes += 1;
        return new Promise<void>((resolve) => {
          release = resolve;
        });
      },
    });
    expect(health.fresh()).toBeNull();
    const first = health.upstream();
    const second = health.upstream();
    expect(probes).toBe(1);
    release();
    const [a, b] = await Promise.all([first, second]);
    expect(a).toBe(b);
    expect(health.fresh()).toBe(a);

    clock += 14_999;
    expect(await health.upstream()).toBe(a);
    expect(probes).toBe(1);

    clock += 1;
    expect(health.fresh()).toBeNull();
    const third = health.upstream();
    expect(probes).toBe(2);
    release();
    expect((await third).checkedAt).toBe(clock);
  });
});
