import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { createGatewayClient, createGatewaySubscriptions, GatewayClientError, GenerationJobUpdatedDocument, type JobUpdate } from "../sdk/index.js";
import { startHarness, type Harness } from "./support/harness.js";
import { handFeed, queued, running, succeeded } from "./support/hand-jobs.js";
import { solidPng } from "./support/images.js";
import { waitFor } from "./support/wait.js";

const TOKEN = "sdk-sub-token-0001";

async function failure(call: Promise<unknown>): Promise<GatewayClientError> {
  const outcome = await call.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(GatewayClientError);
  return outcome as GatewayClientError;
}

describe("the SDK's subscribe helper against the real gateway", () => {
  let h: Harness;
  const jobs = handFeed();

  beforeAll(async () => {
    h = await startHarness({ jobFeed: jobs.feed, config: { auth: { tokens: [TOKEN] } } });
  });
  afterAll(async () => {
    await h.close();
  });

  it("watchJob yields each state, typed, and ends after the final one", async () => {
    jobs.put(queued("sdk-1"));
    const subscriptions = createGatewaySubscriptions({ url: h.graphqlUrl, token: TOKEN, webSocketImpl: WebSocket });
    const seen: JobUpdate[] = [];
    const watching = (async () => {
      for await (const job of subscriptions.watchJob("sdk-1")) {
        seen.push(job);
        if (job.status === "QUEUED") jobs.put(running("sdk-1"));
        if (job.status === "RUNNING") jobs.put(succeeded("sdk-1"));
      }
    })();
    await watching;
    expect(seen.map((job) => job.status)).toEqual(["QUEUED", "RUNNING", "SUCCEEDED"]);
    expect(seen[2]!.result!.images[0]!.url).toBe("http://127.0.0.1/images/a.png");
    // DateTime comes as an ISO string.
    expect(new Date(seen[0]!.createdAt).toISOString()).toBe(seen[0]!.createdAt);
    await subscriptions.dispose();
  });

  it("unsubscribe() ends a watch early; the server stops watching", async () => {
    jobs.put(queued("sdk-2"));
    const subscriptions = createGatewaySubscriptions({ url: h.graphqlUrl, token: TOKEN, webSocketImpl: WebSocket });
    const watch = subscriptions.watchJob("sdk-2");
    expect((await watch.next()).value).toMatchObject({ id: "sdk-2", status: "QUEUED" });
    watch.unsubscribe();
    await waitFor(() => Promise.resolve(jobs.listeners("sdk-2") === 0 || undefined));
    await subscriptions.dispose();
  });

  it("subscribe() takes any typed document", async () => {
    jobs.put(succeeded("sdk-3"));
    const subscriptions = createGatewaySubscriptions({ url: h.url.replace("http", "ws") + "/graphql", token: TOKEN, webSocketImpl: WebSocket });
    const results = [];
    for await (const data of subscriptions.subscribe(GenerationJobUpdatedDocument, { id: "sdk-3" })) results.push(data.generationJobUpdated.status);
    expect(results).toEqual(["SUCCEEDED"]);
    await subscriptions.dispose();
  });

  it("an unknown job throws GatewayClientError JOB_NOT_FOUND with its field", async () => {
    const subscriptions = createGatewaySubscriptions({ url: h.graphqlUrl, token: TOKEN, webSocketImpl: WebSocket });
    const error = await failure(subscriptions.watchJob("sdk-none").next());
    expect([error.code, error.field]).toEqual(["JOB_NOT_FOUND", "id"]);
    await subscriptions.dispose();
  });

  it("a wrong token is UNAUTHENTICATED, at once rather than after retries", async () => {
    const subscriptions = createGatewaySubscriptions({ url: h.graphqlUrl, token: "wrong", webSocketImpl: WebSocket });
    const started = performance.now();
    const error = await failure(subscriptions.watchJob("sdk-1").next());
    expect(error.code).toBe("UNAUTHENTICATED");
    expect(performance.now() - started).toBeLessThan(1_000);
    await subscriptions.dispose();
  });
});

describe("the SDK's job operations against the real gateway (in-process jobs)", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it("submits an edit with a file as a job, watches it to SUCCEEDED, and reads it with generationJob", async () => {
    const gateway = createGatewayClient({ url: h.graphqlUrl });
    const subscriptions = createGatewaySubscriptions({ url: h.graphqlUrl, webSocketImpl: WebSocket });
    const photo = new Blob([new Uint8Array(await solidPng(96, 64, "#2050a0"))], { type: "image/png" });
    const job = await gateway.submitGeneration({ model: "Qwen/Qwen-Image-Edit-2509", prompt: "make it snow", cfg: 4, images: [photo] }, { idempotencyKey: "sdk-edit-1" });
    expect(job.status).toBe("QUEUED");

    const statuses: string[] = [];
    let last: JobUpdate | undefined;
    for await (const update of subscriptions.watchJob(job.id)) {
      statuses.push(update.status);
      last = update;
    }
    expect(statuses.at(-1)).toBe("SUCCEEDED");
    expect(last!.result!.images).toHaveLength(1);
    // The file reached SiliconFlow as the job's first image.
    expect(String(h.simulator.received.at(-1)!.body.image)).toMatch(/^data:image\/png;base64,/);

    expect(await gateway.generationJob(job.id)).toMatchObject({ id: job.id, status: "SUCCEEDED" });
    expect(await gateway.generationJob("no-such-job")).toBeNull();
    // The same key from the same client: the same job, nothing submitted twice.
    const again = await gateway.submitGeneration({ model: "Qwen/Qwen-Image-Edit-2509", prompt: "make it snow", cfg: 4, images: [photo] }, { idempotencyKey: "sdk-edit-1" });
    expect(again.id).toBe(job.id);
    await subscriptions.dispose();
  });

  it("cancelGeneration on a finished job throws GatewayClientError JOB_NOT_CANCELLABLE", async () => {
    const gateway = createGatewayClient({ url: h.graphqlUrl });
    const job = await gateway.submitGeneration({ model: "Kwai-Kolors/Kolors", prompt: "x", imageSize: "768x1024" });
    const subscriptions = createGatewaySubscriptions({ url: h.graphqlUrl, webSocketImpl: WebSocket });
    for await (const _update of subscriptions.watchJob(job.id)) {
      // Read to the end: the job has finished.
    }
    const error = await failure(gateway.cancelGeneration(job.id));
    expect([error.code, error.field]).toEqual(["JOB_NOT_CANCELLABLE", "id"]);
    await subscriptions.dispose();
  });
});
