import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addressKind } from "../src/upstream/address-kind.js";
import { checkOutputUrl, guardedLookup, policyForUpstream } from "../src/upstream/output-address.js";
import type { FaultRule } from "../src/simulator/simulator.js";
import { GENERATE, postJson, startHarness, type Harness } from "./support/harness.js";
import { tableResolver } from "./support/resolver.js";

interface Payload {
  generateImages: { callId: string; images: Array<{ url: string }> };
}

describe("address kinds (ipaddr.js ranges folded into what the policy decides on)", () => {
  it.each([
    ["127.0.0.1", "loopback"],
    ["127.255.0.9", "loopback"],
    ["10.0.0.1", "private"],
    ["172.16.5.4", "private"],
    ["192.168.1.1", "private"],
    ["100.64.0.1", "private"],
    ["169.254.169.254", "link-local"],
    ["0.0.0.0", "unspecified"],
    ["224.0.0.1", "reserved"],
    ["255.255.255.255", "reserved"],
    ["192.0.2.1", "reserved"],
    ["240.0.0.1", "reserved"],
    ["8.8.8.8", "public"],
  ])("IPv4 %s is %s", (address, kind) => {
    expect(addressKind(address)).toBe(kind);
  });

  it.each([
    ["::1", "loopback"],
    ["::", "unspecified"],
    ["fe80::1", "link-local"],
    ["fe80::1%eth0", "link-local"],
    ["fd00::1", "private"],
    ["fc00::1", "private"],
    ["ff02::1", "reserved"],
    ["2001:db8::1", "reserved"],
    ["[::1]", "loopback"],
    ["2606:4700:4700::1111", "public"],
  ])("IPv6 %s is %s", (address, kind) => {
    expect(addressKind(address)).toBe(kind);
  });

  it.each([
    ["::ffff:127.0.0.1", "loopback"],
    ["::ffff:7f00:1", "loopback"],
    ["::ffff:169.254.169.254", "link-local"],
    ["[::ffff:a9fe:a9fe]", "link-local"],
    ["::ffff:10.0.0.1", "private"],
    ["::ffff:8.8.8.8", "public"],
    // NAT64 reaches the IPv4 address it embeds.
    ["64:ff9b::a9fe:a9fe", "link-local"],
    ["64:ff9b::808:808", "public"],
  ])("IPv4 inside IPv6: %s is %s", (address, kind) => {
    expect(addressKind(address)).toBe(kind);
  });

  it("a host name is no address (it is checked when resolved)", () => {
    expect(addressKind("example.com")).toBeUndefined();
    expect(addressKind("metadata.google.internal")).toBeUndefined();
  });
});

describe("output address policy", () => {
  it("allows the upstream's own loopback or private network, never link-local", () => {
    expect([...policyForUpstream("http://127.0.0.1:4010/v1").allowed].sort()).toEqual(["loopback", "public"]);
    expect([...policyForUpstream("http://localhost:4010/v1").allowed].sort()).toEqual(["loopback", "public"]);
    expect([...policyForUpstream("http://[::1]:4010/v1").allowed].sort()).toEqual(["loopback", "public"]);
    expect([...policyForUpstream("http://10.1.2.3/v1").allowed].sort()).toEqual(["private", "public"]);
    expect([...policyForUpstream("https://api.siliconflow.cn/v1").allowed]).toEqual(["public"]);
    expect([...policyForUpstream("http://169.254.10.10/v1").allowed]).toEqual(["public"]);
  });

  it("refuses schemes other than http(s), and literal addresses outside the policy", () => {
    const publicOnly = new Set(["public"] as const);
    expect(checkOutputUrl("file:///etc/passwd", publicOnly)?.reason).toMatch(/scheme is file: and only http and https/);
    expect(checkOutputUrl("data:image/png;base64,AAAA", publicOnly)?.reason).toMatch(/scheme is data:/);
    expect(checkOutputUrl("ftp://example.com/a.png", publicOnly)?.reason).toMatch(/scheme is ftp:/);
    expect(checkOutputUrl("not a url", publicOnly)?.reason).toMatch(/not a valid URL/);
    expect(checkOutputUrl("http://169.254.169.254/latest", publicOnly)?.reason).toBe("its host 169.254.169.254 is a link-local address");
    // URL parsing turns these spellings into the address they mean before the check sees them.
    expect(checkOutputUrl("http://0x7f.1/x", publicOnly)?.reason).toMatch(/127\.0\.0\.1 is a loopback address/);
    expect(checkOutputUrl("http://[::ffff:169.254.169.254]/x", publicOnly)?.reason).toMatch(/link-local/);
    expect(checkOutputUrl("https://8.8.8.8/x.png", publicOnly)).toBeUndefined();
    expect(checkOutputUrl("https://cdn.example.com/x.png", publicOnly)).toBeUndefined();
  });

  it("the lookup refuses a name when any address it resolves to is outside the policy", async () => {
    const lookup = guardedLookup({
      allowed: new Set(["public"]),
      resolve: tableResolver({ "mixed.test": ["8.8.8.8", "10.0.0.1"], "public.test": ["8.8.8.8", "2606:4700:4700::1111"] }),
    });
    const run = (name: string, all: boolean) =>
      new Promise<{ error: Error | null; result: unknown }>((resolve) => {
        lookup(name, { all }, (error, result) => resolve({ error, result }));
      });
    expect((await run("mixed.test", true)).error?.message).toBe("output URL refused: its host mixed.test resolves to 10.0.0.1, a private address");
    expect((await run("mixed.test", false)).error).toBeNull();
    expect((await run("public.test", true)).result).toEqual([
      { address: "8.8.8.8", family: 4 },
      { address: "2606:4700:4700::1111", family: 6 },
    ]);
    expect((await run("missing.test", false)).error?.message).toMatch(/ENOTFOUND/);
  });
});

describe("SiliconFlow's answer is trusted no further than asked (through HTTP)", () => {
  let h: Harness;
  const asked: string[] = [];
  beforeAll(async () => {
    h = await startHarness({
      outputAddresses: {
        allowed: new Set(["public", "loopback"]),
        resolve: tableResolver({ "images.test": ["127.0.0.1"], "metadata.test": ["169.254.169.254"], "rebound.test": ["127.0.0.1", "10.0.0.1"] }, asked),
      },
    });
  });
  afterAll(async () => {
    await h.close();
  });

  async function callWith(rule: FaultRule, input: Record<string, unknown> = { model: "Qwen/Qwen-Image", prompt: "a kite" }) {
    h.simulator.clearFaults();
    h.simulator.addFault(rule);
    const before = h.simulator.stats().downloads;
    const { body } = await postJson<Payload>(h.graphqlUrl, GENERATE, { input });
    h.simulator.clearFaults();
    return { body, error: body.errors?.[0], downloads: h.simulator.stats().downloads - before, line: (await h.logLines()).at(-1)! };
  }

  it("300 output URLs for batchSize 1 give one download and one image", async () => {
    const { body, error, downloads, line } = await callWith({ fault: { kind: "extra-outputs", count: 300 } });
    expect(error).toBeUndefined();
    expect(body.data?.generateImages.images).toHaveLength(1);
    expect(downloads).toBe(1);
    // The answer was cut, and the line says by how much: 300 answered, 1 asked.
    expect(line).toMatchObject({ status: "success", upstream_outputs_dropped: 299 });
  });

  it("300 output URLs for batchSize 3 give three downloads", async () => {
    const { body, error, downloads } = await callWith(
      { fault: { kind: "extra-outputs", count: 300 } },
      { model: "Kwai-Kolors/Kolors", prompt: "a kite", batchSize: 3, imageSize: "1024x1024" },
    );
    expect(error).toBeUndefined();
    expect(body.data?.generateImages.images).toHaveLength(3);
    expect(downloads).toBe(3);
  });

  it.each([
    ["file:///etc/passwd", /images\[0\]\): its scheme is file: and only http and https are fetched/],
    ["data:image/png;base64,iVBORw0KGgo=", /its scheme is data:/],
    ["ftp://127.0.0.1/x.png", /its scheme is ftp:/],
    ["http://169.254.169.254/latest", /its host 169\.254\.169\.254 is a link-local address/],
    ["http://10.0.0.1/x", /its host 10\.0\.0\.1 is a private address/],
    ["http://[::ffff:169.254.169.254]/latest", /is a link-local address/],
    ["http://0.0.0.0/x", /is an unspecified address/],
  ])("an output URL %s is refused before any connection: UPSTREAM_UNAVAILABLE, logged as failed", async (url, reason) => {
    const { error, downloads, line } = await callWith({ fault: { kind: "output-urls", urls: [url] } });
    expect(error?.extensions?.code).toBe("UPSTREAM_UNAVAILABLE");
    expect(error?.message).toMatch(/^SiliconFlow answered an output URL the gateway does not fetch/);
    expect(error?.message).toMatch(reason);
    expect(downloads).toBe(0);
    expect(line).toMatchObject({ status: "failed", error_code: "UPSTREAM_UNAVAILABLE" });
    expect(line.error_message).toMatch(reason);
  });

  it("a bad URL among good ones fails the call before any output is downloaded", async () => {
    const { error, downloads } = await callWith(
      { fault: { kind: "output-urls", urls: ["http://127.0.0.1:1/a.png", "http://169.254.169.254/latest"] } },
      { model: "Kwai-Kolors/Kolors", prompt: "a kite", batchSize: 2, imageSize: "1024x1024" },
    );
    expect(error?.message).toMatch(/images\[1\]\): its host 169\.254\.169\.254 is a link-local address/);
    expect(downloads).toBe(0);
  });

  it("a host name is checked on the address it resolves to when connecting", async () => {
    asked.length = 0;
    const fine = await callWith({ fault: { kind: "output-host", host: "images.test" } });
    expect(fine.error).toBeUndefined();
    expect(fine.downloads).toBe(1);
    expect(asked).toContain("images.test");

    const metadata = await callWith({ fault: { kind: "output-host", host: "metadata.test" } });
    expect(metadata.error?.extensions?.code).toBe("UPSTREAM_UNAVAILABLE");
    expect(metadata.error?.message).toMatch(/its host metadata\.test resolves to 169\.254\.169\.254, a link-local address/);
    expect(metadata.line).toMatchObject({ status: "failed", error_code: "UPSTREAM_UNAVAILABLE" });
    expect(metadata.downloads).toBe(0);

    const rebound = await callWith({ fault: { kind: "output-host", host: "rebound.test" } });
    expect(rebound.error?.message).toMatch(/resolves to 10\.0\.0\.1, a private address/);
  });

  it("a redirect to a refused address is not followed", async () => {
    h.simulator.clearFaults();
    h.simulator.addFault({ fault: { kind: "status", status: 302, body: "", headers: { location: "http://169.254.169.254/latest" } }, target: "download" });
    const { body } = await postJson<Payload>(h.graphqlUrl, GENERATE, { input: { model: "Qwen/Qwen-Image", prompt: "a kite" } });
    h.simulator.clearFaults();
    expect(body.errors?.[0]?.extensions?.code).toBe("UPSTREAM_UNAVAILABLE");
    expect(body.errors?.[0]?.message).toMatch(/its host 169\.254\.169\.254 is a link-local address/);
    expect((await h.logLines()).at(-1)).toMatchObject({ status: "failed", error_code: "UPSTREAM_UNAVAILABLE" });
  });
});

describe("an upstream on a public address: outputs on loopback are refused (through HTTP)", () => {
  let h: Harness;
  beforeAll(async () => {
    // The simulator is on 127.0.0.1; the policy is what SiliconFlow's public address would give.
    h = await startHarness({ outputAddresses: { allowed: new Set(["public"]) } });
  });
  afterAll(async () => {
    await h.close();
  });

  it("the simulator's own 127.0.0.1 output URL is refused, and the call is logged as failed", async () => {
    const before = h.simulator.stats().downloads;
    const { body } = await postJson<Payload>(h.graphqlUrl, GENERATE, { input: { model: "Qwen/Qwen-Image", prompt: "a kite" } });
    expect(body.errors?.[0]?.extensions?.code).toBe("UPSTREAM_UNAVAILABLE");
    expect(body.errors?.[0]?.message).toMatch(/its host 127\.0\.0\.1 is a loopback address/);
    expect(h.simulator.stats().downloads).toBe(before);
    const line = (await h.logLines()).at(-1)!;
    expect(line).toMatchObject({ status: "failed", error_code: "UPSTREAM_UNAVAILABLE" });
    expect(line.error_message).toMatch(/loopback address/);
  });

  it("localhost, resolved by the system, is refused as loopback too", async () => {
    h.simulator.addFault({ fault: { kind: "output-host", host: "localhost" } });
    const { body } = await postJson<Payload>(h.graphqlUrl, GENERATE, { input: { model: "Qwen/Qwen-Image", prompt: "a kite" } });
    h.simulator.clearFaults();
    expect(body.errors?.[0]?.message).toMatch(/its host localhost resolves to (127\.0\.0\.1|::1), a loopback address/);
  });
});
