import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GENERATE, postJson, startHarness, type Harness } from "./support/harness.js";

interface Outcome {
  /** Everything the gateway wrote before the connection closed. */
  response: string;
  /** Whether the gateway closed it (the test gives up after `giveUpMs` and says so). */
  closed: boolean;
}

function open(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => resolve(socket));
    socket.once("error", reject);
  });
}

/** Sends `head` and then whatever `feed` writes, until the gateway closes the connection. */
async function stall(url: string, head: string, feed: (socket: Socket) => void, giveUpMs: number): Promise<Outcome> {
  const socket = await open(url);
  let response = "";
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => (response += chunk));
  socket.on("error", () => undefined);
  const closed = await new Promise<boolean>((resolve) => {
    const giveUp = setTimeout(() => resolve(false), giveUpMs);
    socket.once("close", () => {
      clearTimeout(giveUp);
      resolve(true);
    });
    socket.write(head);
    feed(socket);
  });
  socket.destroy();
  return { response, closed };
}

function postHead(requestId: string, contentLength: number): string {
  return (
    `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${contentLength}\r\nx-request-id: ${requestId}\r\n\r\n`
  );
}

const body = JSON.stringify({ query: GENERATE, variables: { input: { model: "Kwai-Kolors/Kolors", prompt: "p".repeat(2000) } } });

describe("a request body that stalls", () => {
  let h: Harness;
  beforeAll(async () => {
    // Generations take longer than both timeouts: once the body is in, neither applies.
    h = await startHarness({ env: { BODY_IDLE_TIMEOUT_MS: "300", BODY_TIMEOUT_MS: "1500" }, simulator: { latencyMs: 2000 } });
  });
  afterAll(async () => {
    await h.close();
  });

  it("headers and 200 bytes, then silence: 408 REQUEST_TIMEOUT, the connection closed, the call logged", async () => {
    const outcome = await stall(h.url, postHead("idle-body", body.length), (socket) => socket.write(body.slice(0, 200)), 10_000);
    expect(outcome.closed).toBe(true);
    expect(outcome.response).toMatch(/^HTTP\/1\.1 408 /);
    expect(outcome.response).toContain('"code":"REQUEST_TIMEOUT"');
    expect(outcome.response).toContain("stalled");
    const line = (await h.logLines()).find((l) => l.request_id === "idle-body");
    expect(line).toMatchObject({ status: "failed", error_code: "REQUEST_TIMEOUT" });
  });

  it("one byte every 100 ms, never idle for long: cut by the overall timeout", async () => {
    let timer: NodeJS.Timeout | undefined;
    let sent = 0;
    const outcome = await stall(
      h.url,
      postHead("trickle-body", body.length),
      (socket) => {
        timer = setInterval(() => {
          if (socket.writable && sent < body.length) socket.write(body[sent++]!);
        }, 100);
      },
      10_000,
    );
    clearInterval(timer);
    expect(outcome.closed).toBe(true);
    expect(sent).toBeLessThan(body.length);
    expect(outcome.response).toMatch(/^HTTP\/1\.1 408 /);
    expect(outcome.response).toContain("not received within 1500 ms");
    const line = (await h.logLines()).find((l) => l.request_id === "trickle-body");
    expect(line).toMatchObject({ status: "failed", error_code: "REQUEST_TIMEOUT" });
  });

  it("an upload whose file stalls while a resolver reads it: 408, and the call's line says it failed", async () => {
    const boundary = "----stall";
    const operations = JSON.stringify({ query: GENERATE, variables: { input: { model: "Qwen/Qwen-Image-Edit", prompt: "x", images: [null] } } });
    const parts =
      `--${boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${operations}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n{"0":["variables.input.images.0"]}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="0"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n` +
      "\x89PNG" + "x".repeat(100);
    const head =
      `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\n` +
      `Content-Length: ${parts.length + 10_000}\r\napollo-require-preflight: true\r\nx-request-id: idle-upload\r\n\r\n`;
    const outcome = await stall(h.url, head, (socket) => socket.write(parts), 10_000);
    expect(outcome.closed).toBe(true);
    expect(outcome.response).toMatch(/^HTTP\/1\.1 408 /);
    await expect.poll(async () => (await h.logLines()).filter((l) => l.request_id === "idle-upload").map((l) => l.status)).toEqual(["failed"]);
    const line = (await h.logLines()).find((l) => l.request_id === "idle-upload");
    expect(line?.error_message).toContain("cut off");
  });

  it("a body that arrives in time is served, and a slow generation afterwards is not cut", async () => {
    const { body: answer } = await postJson(h.graphqlUrl, GENERATE, { input: { model: "Kwai-Kolors/Kolors", prompt: "a harbour" } });
    expect(answer.errors).toBeUndefined();
  });
});

describe("connections per client address", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { MAX_CONNECTIONS_PER_ADDRESS: "3" } });
  });
  afterAll(async () => {
    await h.close();
  });

  it("past the cap a new connection from the same address is closed at once; one freed lets the next in", async () => {
    const held = await Promise.all([open(h.url), open(h.url), open(h.url)]);
    for (const socket of held) socket.on("error", () => undefined);
    const extra = await stall(h.url, "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", () => undefined, 5_000);
    expect(extra).toEqual({ response: "", closed: true });

    const first = held.shift()!;
    await new Promise<void>((resolve) => {
      first.once("close", () => resolve());
      first.destroy();
    });
    // The gateway sees the close a moment later.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const admitted = await stall(h.url, "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", () => undefined, 5_000);
    expect(admitted.response).toMatch(/^HTTP\/1\.1 200 /);
    for (const socket of held) socket.destroy();
  });
});
