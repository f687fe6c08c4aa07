import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../src/config/load-config.js";

describe("configuration", () => {
  it("the example file is valid and equals the defaults", () => {
    const example = parse(readFileSync("gateway.config.example.yaml", "utf8")) as Record<string, unknown>;
    const fromExample = parseConfig(example, {});
    const defaults = parseConfig({}, {});
    expect(fromExample).toEqual(defaults);
  });

  it("the environment overrides the file, with types coerced", () => {
    const config = parseConfig({ port: 5000, siliconflow: { timeoutMs: 1000 } }, { PORT: "6000", SILICONFLOW_MAX_RETRIES: "0", GATEWAY_TOKENS: "a, b", CORS_ORIGINS: "https://x.example" });
    expect(config.port).toBe(6000);
    expect(config.siliconflow.timeoutMs).toBe(1000);
    expect(config.siliconflow.maxRetries).toBe(0);
    expect(config.auth.tokens).toEqual(["a", "b"]);
    expect(config.corsOrigins).toEqual(["https://x.example"]);
  });

  it("the S3 store's settings come from the environment, and half a key pair names the missing half without the other", () => {
    const config = parseConfig({}, { IMAGE_STORE: "s3", S3_BUCKET: "outputs", S3_PREFIX: "gw", S3_FORCE_PATH_STYLE: "true", S3_ENDPOINT: "http://127.0.0.1:9000" });
    expect(config.imageStore).toBe("s3");
    expect(config.s3).toMatchObject({ bucket: "outputs", prefix: "gw", forcePathStyle: true, endpoint: "http://127.0.0.1:9000", region: "us-east-1" });
    expect(config.s3.accessKeyId).toBeUndefined();
    let message = "";
    try {
      parseConfig({}, { S3_SECRET_ACCESS_KEY: "FAKE-secret-never-echoed" });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/S3_ACCESS_KEY_ID/);
    expect(message).not.toContain("FAKE-secret");
  });

  it("NODE_ENV=production means production", () => {
    expect(parseConfig({}, { NODE_ENV: "production" }).production).toBe(true);
  });

  it.each([
    [{ port: "abc" }, {}, /port \(PORT\)/],
    [{}, { SILICONFLOW_TIMEOUT_MS: "-5" }, /siliconflow\.timeoutMs \(SILICONFLOW_TIMEOUT_MS\)/],
    [{ siliconflow: { baseUrl: "ftp://x" } }, {}, /siliconflow\.baseUrl/],
    [{ logLevel: "loud" }, {}, /logLevel/],
    [{ nonsense: 1 }, {}, /nonsense|Unrecognized/],
    [{}, { IMAGE_STORE: "s3" }, /s3\.bucket \(S3_BUCKET\): is required when imageStore is s3/],
    [{}, { IMAGE_STORE: "tape" }, /imageStore \(IMAGE_STORE\)/],
    [{}, { IMAGE_URL_MODE: "presigned" }, /imageUrls\.mode \(IMAGE_URL_MODE\): presigned needs imageStore s3/],
    [{}, { S3_SECRET_ACCESS_KEY: "FAKE-secret-never-echoed" }, /s3\.accessKeyId \(S3_ACCESS_KEY_ID\): .*set both or neither/],
  ])("a bad setting names its key: %j %j", (file, env, message) => {
    expect(() => parseConfig(file, env)).toThrow(ConfigError);
    expect(() => parseConfig(file, env)).toThrow(message);
  });

  it("a bad key value is never echoed back", () => {
    let message = "";
    try {
      parseConfig({ siliconflow: { apiKey: 12345678901234 } }, {});
    } catch (error) {
      message = String(error);
    }
    expect(message).toMatch(/siliconflow\.apiKey \(SILICONFLOW_API_KEY\)/);
    expect(message).not.toContain("12345678901234");
  });
});
