import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import { postJson, startHarness, type Harness } from "./support/harness.js";
import { handFeed, queued, running, succeeded, T0 } from "./support/hand-jobs.js";
import { submitJob } from "./support/jobs.js";
import { waitFor } from "./support/wait.js";
import { collect, errorsOf, wsClient } from "./support/ws-client.js";

/** Waits, bounded, for a condition on what the test has seen. */
const until = (condition: () => boolean): Promise<true> => waitFor(() => Promise.resolve(condition() || undefined));

const UPDATED = /* GraphQL */ `
  subscription Updated($id: ID!) {
    generationJobUpdated(id: $id) {
      id
      status
      model
      createdAt
      startedAt
      finishedAt
      queuePosition
      result { callId provider model seed images { index url width height mimeType bytes } timings { totalMs } cacheHit }
      error { code message }
    }
  }
`;

interface Updated {
  generationJobUpdated: { id: string; status: string; createdAt: string; startedAt: string | null; queuePosition: number | null; result: { images: Array<{ url: string }> } | null };
}

describe("generationJobUpdated over graphql-ws on /graphql", () => {
  let h: Harness;
  const jobs = handFeed();

  beforeAll(async () => {
    h = await startHarness({ jobFeed: jobs.feed, config: { limits: { maxSubscriptionsPerConnection: 2, maxWebSocketsPerClient: 3, maxQueryComplexity: 40 } } });
  });
  afterAll(async () => {
    await h.close();
  });

  it("streams every state of a job, from the current one to the final one, then completes", async () => {
    jobs.put(queued("job-1"));
    const client = wsClient(h.graphqlUrl);
    const sub = collect<Updated>(client, UPDATED, { id: "job-1" });
    await until(() => sub.results.length === 1);
    expect(sub.results[0]!.data!.generationJobUpdated).toMatchObject({ id: "job-1", status: "QUEUED", queuePosition: 2, createdAt: new Date(T0).toISOString(), startedAt: null });
    jobs.put(running("job-1"));
    await until(() => sub.results.length === 2);
    jobs.put(succeeded("job-1"));
    expect(await sub.end).toEqual({ completed: true });
    expect(sub.results.map((result) => result.data!.generationJobUpdated.status)).toEqual(["QUEUED", "RUNNING", "SUCCEEDED"]);
    expect(sub.results[2]!.data!.generationJobUpdated.result!.images[0]!.url).toBe("http://127.0.0.1/images/a.png");
    expect(sub.results.every((result) => result.errors === undefined)).toBe(true);
    await client.dispose();
  });

  it("a job already finished gives its final state at once, then completes", async () => {
    jobs.put(succeeded("job-done"));
    const client = wsClient(h.graphqlUrl);
    const sub = collect<Updated>(client, UPDATED, { id: "job-done" });
    expect(await sub.end).toEqual({ completed: true });
    expect(sub.results.map((result) => result.data!.generationJobUpdated.status)).toEqual(["SUCCEEDED"]);
    await client.dispose();
  });

  it("an unknown id is refused with JOB_NOT_FOUND naming the field", async () => {
    const client = wsClient(h.graphqlUrl);
    const errors = await errorsOf(collect<Updated>(client, UPDATED, { id: "no-such-job" }));
    expect(errors).toHaveLength(1);
    expect(errors[0]?.extensions).toEqual({ code: "JOB_NOT_FOUND", field: "id" });
    expect(errors[0]?.message).toContain("no-such-job");
    await client.dispose();
  });

  it("unsubscribing stops the watch at once, though the job never changes again", async () => {
    jobs.put(queued("job-idle"));
    const client = wsClient(h.graphqlUrl);
    const sub = collect<Updated>(client, UPDATED, { id: "job-idle" });
    await until(() => sub.results.length === 1);
    expect(jobs.listeners("job-idle")).toBe(1);
    sub.stop();
    await until(() => jobs.listeners("job-idle") === 0);
    await client.dispose();
  });

  it("closing the socket stops its watches", async () => {
    jobs.put(queued("job-closed"));
    const client = wsClient(h.graphqlUrl);
    const sub = collect<Updated>(client, UPDATED, { id: "job-closed" });
    await until(() => sub.results.length === 1);
    await client.dispose();
    await until(() => jobs.listeners("job-closed") === 0);
  });

  it("runs subscriptions only: a query over WebSocket is sent to HTTP with BAD_REQUEST", async () => {
    const client = wsClient(h.graphqlUrl);
    const errors = await errorsOf(collect(client, "{ health { status } }"));
    expect(errors[0]?.extensions?.code).toBe("BAD_REQUEST");
    await client.dispose();
  });

  it("meets the query limits: a subscription too complex is refused with BAD_USER_INPUT before it runs", async () => {
    jobs.put(queued("job-limits"));
    const client = wsClient(h.graphqlUrl);
    // A subscription has one root field; its selection can still be made large with aliases.
    const aliases = Array.from({ length: 50 }, (_, i) => `a${i}: status`).join(" ");
    const errors = await errorsOf(collect(client, `subscription { generationJobUpdated(id: "job-limits") { ${aliases} } }`));
    expect(errors[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(errors[0]?.message).toMatch(/complexity is \d+; at most 40/);
    await client.dispose();
  });

  it("a document that does not fit the schema gets GRAPHQL_VALIDATION_FAILED, variables of the wrong type BAD_USER_INPUT", async () => {
    const client = wsClient(h.graphqlUrl);
    const invalid = await errorsOf(collect(client, `subscription { generationJobUpdated(id: "x") { nope } }`));
    expect(invalid[0]?.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
    const wrongType = await errorsOf(collect(client, UPDATED, { id: { not: "an id" } }));
    expect(wrongType[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    await client.dispose();
  });

  it("bounds subscriptions per connection: one past the limit gets RATE_LIMITED, the others keep running", async () => {
    jobs.put(queued("job-a"));
    jobs.put(queued("job-b"));
    jobs.put(queued("job-c"));
    const client = wsClient(h.graphqlUrl);
    const a = collect<Updated>(client, UPDATED, { id: "job-a" });
    const b = collect<Updated>(client, UPDATED, { id: "job-b" });
    await until(() => (a.results.length === 1 && b.results.length === 1));
    const c = await errorsOf(collect<Updated>(client, UPDATED, { id: "job-c" }));
    expect(c[0]?.extensions?.code).toBe("RATE_LIMITED");
    jobs.put(succeeded("job-a"));
    expect(await a.end).toEqual({ completed: true });
    b.stop();
    await client.dispose();
  });

  it("bounds connections per client: one past the limit is closed with 4429", async () => {
    jobs.put(queued("job-many"));
    const clients = [0, 1, 2].map(() => wsClient(h.graphqlUrl));
    const subs = clients.map((client) => collect<Updated>(client, UPDATED, { id: "job-many" }));
    await until(() => subs.every((sub) => sub.results.length === 1));
    const closed: number[] = [];
    const extra = wsClient(h.graphqlUrl, { on: { closed: (event) => closed.push((event as { code: number }).code) } });
    const end = await collect(extra, UPDATED, { id: "job-many" }).end;
    expect("error" in end).toBe(true);
    expect(closed).toEqual([4429]);
    for (const client of [...clients, extra]) await client.dispose();
    // The count follows the closes (as the server sees them): a new connection is let in again.
    jobs.put(succeeded("job-many"));
    await waitFor(async () => {
      const again = wsClient(h.graphqlUrl);
      const ended = await collect(again, UPDATED, { id: "job-many" }).end;
      await again.dispose();
      return "completed" in ended ? true : undefined;
    });
  });

  it("a message far larger than any subscription document closes the socket (1009) before it is read", async () => {
    const socket = new WebSocket(h.graphqlUrl.replace(/^http/, "ws"), "graphql-transport-ws");
    await new Promise((resolve, reject) => {
      socket.once("open", resolve);
      socket.once("error", reject);
    });
    const closed = new Promise<number>((resolve) => socket.once("close", (code) => resolve(code)));
    socket.send(JSON.stringify({ type: "connection_init", payload: { padding: "x".repeat(200_000) } }));
    expect(await closed).toBe(1009);
  });

  it("says why a socket failed in the application log, not on the console", async () => {
    const lines: string[] = [];
    const logged = await startHarness({ jobFeed: jobs.feed, appLog: { write: (line) => lines.push(line) } });
    const consoleError = vi.spyOn(console, "error");
    try {
      const socket = new WebSocket(logged.graphqlUrl.replace(/^http/, "ws"), "graphql-transport-ws");
      await new Promise((resolve) => socket.once("open", resolve));
      const closed = new Promise<number>((resolve) => socket.once("close", (code) => resolve(code)));
      socket.send("x".repeat(200_000));
      expect(await closed).toBe(1009);
      await until(() => lines.some((line) => line.includes("WebSocket connection failed")));
      expect(lines.find((line) => line.includes("WebSocket connection failed"))).toContain("Max payload size exceeded");
      expect(consoleError).not.toHaveBeenCalled();
    } finally {
      consoleError.mockRestore();
      await logged.close();
    }
  });

  it("a feed that fails gives INTERNAL_SERVER_ERROR and nothing of the failure", async () => {
    const failing = await startHarness({
      jobFeed: {
        watch: () => ({
          [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error("redis at 10.0.0.7:6379 refused: secret detail")) }),
        }),
      },
    });
    try {
      const client = wsClient(failing.graphqlUrl);
      const errors = await errorsOf(collect(client, UPDATED, { id: "job-x" }));
      expect(errors).toEqual([{ message: "internal server error", path: ["generationJobUpdated"], locations: expect.any(Array) as unknown, extensions: { code: "INTERNAL_SERVER_ERROR" } }]);
      expect(JSON.stringify(errors)).not.toMatch(/10\.0\.0\.7|secret|stack|at /);
      await client.dispose();
    } finally {
      await failing.close();
    }
  });

  it("GraphQL over HTTP on the same path is unchanged: GET queries and POST", async () => {
    const get = await fetch(`${h.graphqlUrl}?query=${encodeURIComponent("{ health { provider } }")}`, { headers: { "apollo-require-preflight": "true" } });
    expect(get.status).toBe(200);
    expect(await get.json()).toEqual({ data: { health: { provider: "SILICONFLOW" } } });
    const post = await postJson(h.graphqlUrl, "{ health { provider } }");
    expect(post.body).toEqual({ data: { health: { provider: "SILICONFLOW" } } });
  });

  it("a subscription sent over HTTP gets a clear error, not a crash", async () => {
    jobs.put(queued("job-http"));
    const post = await postJson(h.graphqlUrl, UPDATED, { id: "job-http" });
    expect(post.status).toBe(400);
    expect(post.body.errors).toEqual([{ message: "Subscriptions run over WebSocket (the graphql-ws protocol) on /graphql, not over HTTP", extensions: { code: "BAD_REQUEST" } }]);
  });
});

describe("generationJobUpdated at shutdown", () => {
  it("closing the gateway closes open subscriptions at once with 1001 (going away), so clients reconnect elsewhere", async () => {
    const jobs = handFeed();
    jobs.put(queued("job-open"));
    const h = await startHarness({ jobFeed: jobs.feed });
    const codes: number[] = [];
    const client = wsClient(h.graphqlUrl, { on: { closed: (event) => codes.push((event as { code: number }).code) } });
    const sub = collect<Updated>(client, UPDATED, { id: "job-open" });
    await until(() => sub.results.length === 1);
    const started = performance.now();
    await h.close();
    expect(performance.now() - started).toBeLessThan(2_000);
    expect("error" in (await sub.end)).toBe(true);
    expect(codes).toEqual([1001]);
    expect(jobs.listeners("job-open")).toBe(0);
  });
});

describe("generationJobUpdated with client tokens", () => {
  let h: Harness;
  const jobs = handFeed();

  beforeAll(async () => {
    h = await startHarness({ jobFeed: jobs.feed, config: { auth: { tokens: ["tok-alpha-123456", "tok-beta-654321"] } } });
    jobs.put(succeeded("job-t"));
  });
  afterAll(async () => {
    await h.close();
  });

  async function closeCode(connectionParams?: Record<string, unknown>): Promise<number | undefined> {
    let code: number | undefined;
    const client = wsClient(h.graphqlUrl, { connectionParams, on: { closed: (event) => (code ??= (event as { code: number }).code) } });
    const end = await collect(client, UPDATED, { id: "job-t" }).end;
    await client.dispose();
    return "completed" in end ? undefined : code;
  }

  it("refuses a connection without a token, or with a wrong one, with 4403 Forbidden", async () => {
    expect(await closeCode()).toBe(4403);
    expect(await closeCode({ authorization: "Bearer tok-wrong" })).toBe(4403);
    expect(await closeCode({ authorization: "tok-alpha-123456" })).toBe(4403);
  });

  it("takes the token from connection_init's payload: { authorization: \"Bearer <token>\" }", async () => {
    expect(await closeCode({ authorization: "Bearer tok-beta-654321" })).toBeUndefined();
  });
});

describe("generationJobUpdated over the job service (in process), with client tokens", () => {
  let h: Harness;
  const ALPHA = { authorization: "Bearer tok-alpha-123456" };

  beforeAll(async () => {
    h = await startHarness({ config: { auth: { tokens: ["tok-alpha-123456", "tok-beta-654321"] } } });
  });
  afterAll(async () => {
    await h.close();
  });

  it("follows a submitted job to SUCCEEDED for its own client; another token's subscription gets JOB_NOT_FOUND", async () => {
    const { body } = await submitJob(h.graphqlUrl, { model: "Kwai-Kolors/Kolors", prompt: "a lighthouse", imageSize: "768x1024" }, { headers: ALPHA });
    expect(body.errors).toBeUndefined();
    const id = body.data!.submitGeneration.id;

    const other = wsClient(h.graphqlUrl, { connectionParams: { authorization: "Bearer tok-beta-654321" } });
    const refused = await errorsOf(collect(other, UPDATED, { id }));
    expect(refused[0]?.extensions).toEqual({ code: "JOB_NOT_FOUND", field: "id" });
    await other.dispose();

    const own = wsClient(h.graphqlUrl, { connectionParams: ALPHA });
    const watch = collect<Updated>(own, UPDATED, { id });
    expect(await watch.end).toEqual({ completed: true });
    const last = watch.results.at(-1)!.data!.generationJobUpdated;
    expect(last.status).toBe("SUCCEEDED");
    expect(last.result!.images[0]!.url.startsWith(`${h.url}/images/`)).toBe(true);
    await own.dispose();
  });
});
