import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildGateway } from "./support/child-gateway.js";

const run = promisify(execFile);

/**
 * The benchmark's smoke run: the same code as `npm run bench` with tiny sizes. It checks that the bench
 * completes and reports its four ratios, never the targets: timings on a shared CI machine are not a test.
 */
describe("npm run bench --smoke", () => {
  let build: Awaited<ReturnType<typeof buildGateway>> | undefined;

  beforeAll(async () => {
    // The bench runs compiled code (decorator metadata needs tsc), and tsconfig.build.json includes bench/.
    build = await buildGateway();
  }, 120_000);

  afterAll(async () => {
    await build?.cleanup();
  });

  it("completes and prints the four ratios as finite numbers", async () => {
    const script = path.join(path.dirname(build!.main), "..", "bench", "run.js");
    const { stdout } = await run(process.execPath, [script, "--smoke"], {
      env: { PATH: process.env.PATH ?? "" },
      timeout: 120_000,
      maxBuffer: 16 * 1024 * 1024,
    });

    expect(stdout).toMatch(/benchmark\s+gateway\s+direct \/ bare\s+ratio\s+target/);
    const line = stdout.split("\n").find((l) => l.startsWith("bench-result "));
    expect(line, stdout).toBeDefined();
    const result = JSON.parse(line!.slice("bench-result ".length)) as {
      a?: { ratio: unknown };
      b?: { ratio: unknown; peakRssBytes: unknown };
      c?: { ratio: unknown };
      d?: { ratio: unknown };
    };
    for (const value of [result.a?.ratio, result.b?.ratio, result.b?.peakRssBytes, result.c?.ratio, result.d?.ratio]) {
      expect(typeof value).toBe("number");
      expect(Number.isFinite(value as number) && (value as number) > 0).toBe(true);
    }
  }, 180_000);
});
