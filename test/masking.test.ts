import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createAppLogger, REDACTED } from "../src/observability/app-logger.js";
import { formatDecimalString } from "../src/call-log/record.js";
import { maskApiKey, redactImageData, redactSecrets, sanitizeMessage } from "../src/observability/mask.js";

const KEY = "sk-FAKE-abcdefghijklmnopqrstuvwxyz0123456789ABCDEF";

describe("maskApiKey", () => {
  it("shows the first 4 and last 4 characters of a long key", () => {
    expect(maskApiKey(KEY)).toBe("sk-F****CDEF");
  });

  it("masks a key of exactly 12 characters as first 4 + last 4", () => {
    expect(maskApiKey("abcd1234wxyz")).toBe("abcd****wxyz");
  });

  it("shows nothing of a key shorter than 12 characters", () => {
    expect(maskApiKey("abcd123wxyz")).toBe("****");
    expect(maskApiKey("k")).toBe("****");
  });

  it("gives **** for a missing or empty key", () => {
    expect(maskApiKey(undefined)).toBe("****");
    expect(maskApiKey(null)).toBe("****");
    expect(maskApiKey("")).toBe("****");
  });
});

describe("redactSecrets", () => {
  it("replaces every occurrence of a secret, bare or after Bearer", () => {
    const text = `upstream said: invalid key ${KEY} (header "Authorization: Bearer ${KEY}")`;
    const out = redactSecrets(text, [KEY]);
    expect(out).not.toContain(KEY);
    expect(out).toBe('upstream said: invalid key sk-F****CDEF (header "Authorization: Bearer sk-F****CDEF")');
  });

  it("masks a Bearer token it was not told about", () => {
    expect(redactSecrets("Authorization: Bearer someoneElsesToken42")).toBe("Authorization: Bearer some****en42");
    expect(redactSecrets("bearer short")).toBe("bearer ****");
  });

  it("masks anything shaped like an sk- key", () => {
    expect(redactSecrets("key sk-zzzzzzzzzzzzzzzzzzzzzzzz9999 is invalid")).toBe("key sk-z****9999 is invalid");
    expect(redactSecrets("uses sk-learn")).toBe("uses sk-learn");
  });

  it("is literal: a secret holding regex or replacement syntax is replaced as text", () => {
    const odd = "ab$&cd.*+?$1xyz$'";
    expect(redactSecrets(`x ${odd} y`, [odd])).toBe("x ab$&****yz$' y");
  });

  it("masks a longer secret whole even when a shorter one is inside it", () => {
    const short = "0123456789abcdef";
    const long = `${short}-and-more-9999`;
    expect(redactSecrets(`${long} / ${short}`, [short, long])).toBe("0123****9999 / 0123****cdef");
  });

  it("ignores empty secrets and leaves clean text alone", () => {
    expect(redactSecrets("nothing to see", ["", KEY])).toBe("nothing to see");
  });
});

describe("redactImageData / sanitizeMessage", () => {
  const base64 = Buffer.alloc(3000, 7).toString("base64");

  it("elides data URLs and long base64 runs, keeping their length", () => {
    const out = redactImageData(`bad image data:image/png;base64,${base64} and raw ${base64}!`);
    expect(out).toBe(`bad image data:image/png;base64,[${base64.length} chars elided] and raw [base64, ${base64.length} chars elided]!`);
  });

  it("leaves short ids and hashes alone", () => {
    const sha = "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=";
    expect(redactImageData(`trace ${sha}`)).toBe(`trace ${sha}`);
  });

  it("sanitizeMessage applies both", () => {
    const out = sanitizeMessage(`Bearer ${KEY} body {"image":"data:image/jpeg;base64,${base64}"}`, [KEY]);
    expect(out).not.toContain(KEY);
    expect(out).not.toContain(base64.slice(0, 200));
  });
});

describe("formatDecimalString", () => {
  it("writes numbers as the contract's decimal strings", () => {
    expect(formatDecimalString(7.5)).toBe("7.5");
    expect(formatDecimalString(4)).toBe("4");
    expect(formatDecimalString(0)).toBe("0");
    expect(formatDecimalString(-0)).toBe("0");
    expect(formatDecimalString(0.1)).toBe("0.1");
    expect(formatDecimalString(null)).toBeNull();
    expect(formatDecimalString(undefined)).toBeNull();
    expect(formatDecimalString(Number.NaN)).toBeNull();
  });
});

describe("createAppLogger", () => {
  function capture(secrets: string[] = []): { logger: ReturnType<typeof createAppLogger>; lines: () => Record<string, unknown>[]; text: () => string } {
    const chunks: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk.toString("utf8"));
        callback();
      },
    });
    const logger = createAppLogger({ level: "debug", destination, secrets });
    const text = (): string => chunks.join("");
    const lines = (): Record<string, unknown>[] =>
      text()
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    return { logger, lines, text };
  }

  const base64 = Buffer.alloc(600, 1).toString("base64");

  it("censors keys, Authorization headers and images at any depth", () => {
    const { logger, text } = capture();
    logger.info(
      {
        req: { headers: { authorization: `Bearer ${KEY}`, "x-api-key": KEY, host: "gw" } },
        headers: { authorization: `Bearer ${KEY}` },
        config: { siliconflow: { apiKey: KEY, baseUrl: "https://api.siliconflow.cn/v1" } },
        api_key: KEY,
        variables: { input: { prompt: "a cat", image: base64, image2: base64, image3: base64 } },
        upstream: { body: { images: [base64], b64_json: base64 } },
      },
      "request",
    );
    const out = text();
    expect(out).not.toContain(KEY);
    expect(out).not.toContain(base64.slice(0, 100));
    expect(out).toContain("a cat");
    expect(out).toContain("https://api.siliconflow.cn/v1");
    expect(out).toContain(REDACTED);
  });

  it("drops the request an HTTP client error carries and scrubs its message", () => {
    const { logger, lines, text } = capture([KEY]);
    const err = Object.assign(new Error(`upstream refused ${KEY}`), {
      code: "ERR_NON_2XX_3XX_RESPONSE",
      options: { headers: { authorization: `Bearer ${KEY}` }, json: { image: base64 } },
    });
    logger.error({ err }, `call failed with Bearer ${KEY}`);
    const [line] = lines();
    expect(text()).not.toContain(KEY);
    expect(text()).not.toContain(base64.slice(0, 100));
    expect(line?.msg).toBe("call failed with Bearer sk-F****CDEF");
    expect((line?.err as Record<string, unknown>).code).toBe("ERR_NON_2XX_3XX_RESPONSE");
    expect((line?.err as Record<string, unknown>).message).toBe("upstream refused sk-F****CDEF");
  });

  it("cuts a huge message at 2000 characters with the original length, and keeps an ordinary stack whole", () => {
    const { logger, lines } = capture();
    const err = new Error(`bad model ${"m ".repeat(50_000)}`);
    err.stack = `Error: short\n${"    at frame (file.js:1:1)\n".repeat(100)}`;
    logger.error({ err, model: "q ".repeat(2500) }, "refused");
    const [line] = lines();
    const logged = line?.err as Record<string, unknown>;
    expect(logged.message).toBe(`bad model ${"m ".repeat(995)}…[truncated, 100010 chars]`);
    expect(logged.stack).toBe(err.stack);
    expect(line?.model).toBe(`${"q ".repeat(1000)}…[truncated, 5000 chars]`);
  });
});
