import { ApolloClient, ApolloLink, CombinedGraphQLErrors, InMemoryCache } from "@apollo/client";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { isSubscriptionOperation } from "@apollo/client/utilities";
// @ts-expect-error -- apollo-upload-client 19 ships JSDoc-typed .mjs files and no declarations; typed below.
import UntypedUploadHttpLink from "apollo-upload-client/UploadHttpLink.mjs";
import { createClient } from "graphql-ws";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { GenerateImagesDocument, GenerationJobDocument, GenerationJobUpdatedDocument, HealthDocument, SubmitGenerationDocument } from "../sdk/generated/graphql.js";
import { startHarness, type Harness } from "./support/harness.js";
import { dataUrlBytes, noisyPng, solidPng } from "./support/images.js";

/** The constructor options this test uses, as documented in UploadHttpLink.mjs. */
interface UploadHttpLinkOptions {
  uri?: string;
  headers?: Record<string, string>;
  fetch?: typeof fetch;
}
const UploadHttpLink = UntypedUploadHttpLink as new (options?: UploadHttpLinkOptions) => ApolloLink;

interface Sent {
  headers: Headers;
  body: unknown;
}

describe("Apollo Client 4 with apollo-upload-client against the real gateway", () => {
  let h: Harness;
  let client: ApolloClient;
  const sent: Sent[] = [];

  beforeAll(async () => {
    h = await startHarness();
    client = new ApolloClient({
      cache: new InMemoryCache(),
      link: new UploadHttpLink({
        uri: h.graphqlUrl,
        // The gateway keeps Apollo's CSRF prevention on: multipart requests need this header.
        headers: { "apollo-require-preflight": "true" },
        fetch: async (input, init) => {
          sent.push({ headers: new Headers(init?.headers), body: init?.body });
          return fetch(input, init);
        },
      }),
    });
  });
  afterAll(async () => {
    client?.stop();
    await h.close();
  });

  it("uploads images (a File and a Blob) with a mutation and reads the generated image", async () => {
    const first = await solidPng(512, 512, "#3366ff");
    const second = await noisyPng(200, 120);
    const before = h.simulator.received.length;

    const { data } = await client.mutate({
      mutation: GenerateImagesDocument,
      variables: {
        input: {
          model: "Qwen/Qwen-Image-Edit-2509",
          prompt: "blend the two",
          cfg: 4,
          images: [new File([new Uint8Array(first)], "blue.png", { type: "image/png" }), new Blob([new Uint8Array(second)], { type: "image/png" })],
        },
      },
    });

    // It really went as a GraphQL multipart request, with the CSRF header.
    const request = sent.at(-1)!;
    expect(request.body).toBeInstanceOf(FormData);
    expect(request.headers.get("apollo-require-preflight")).toBe("true");
    const map = JSON.parse((request.body as FormData).get("map") as string) as Record<string, string[]>;
    expect(Object.values(map)).toEqual([["variables.input.images.0"], ["variables.input.images.1"]]);

    const upstream = h.simulator.received.at(-1)!.body;
    expect(h.simulator.received.length).toBe(before + 1);
    expect(Buffer.compare(dataUrlBytes(upstream.image).bytes, first)).toBe(0);
    expect(Buffer.compare(dataUrlBytes(upstream.image2).bytes, second)).toBe(0);

    const result = data!.generateImages;
    expect(result.provider).toBe("SILICONFLOW");
    expect(result.images).toHaveLength(1);
    const image = result.images[0];
    const response = await fetch(image!.url);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe(image!.mimeType);
    const bytes = Buffer.from(await response.arrayBuffer());
    expect(bytes.length).toBe(image!.bytes);
    const meta = await sharp(bytes).metadata();
    expect([meta.width, meta.height]).toEqual([image!.width, image!.height]);
  });

  it("sends the same File as two images: one file part mapped to both paths, both reach SiliconFlow", async () => {
    const picture = await noisyPng(160, 90);
    const file = new File([new Uint8Array(picture)], "same.png", { type: "image/png" });
    const before = h.simulator.received.length;

    const { data } = await client.mutate({
      mutation: GenerateImagesDocument,
      variables: { input: { model: "Qwen/Qwen-Image-Edit-2509", prompt: "the picture beside itself", cfg: 4, images: [file, file] } },
    });

    // apollo-upload-client deduplicates the File: one part, listed under both paths (the spec allows it).
    const form = sent.at(-1)!.body as FormData;
    const map = JSON.parse(form.get("map") as string) as Record<string, string[]>;
    expect(Object.values(map)).toEqual([["variables.input.images.0", "variables.input.images.1"]]);
    expect(form.getAll(Object.keys(map)[0]!)).toHaveLength(1);

    expect(data!.generateImages.images).toHaveLength(1);
    expect(h.simulator.received.length).toBe(before + 1);
    const upstream = h.simulator.received.at(-1)!.body;
    expect(upstream.image3).toBeUndefined();
    expect(Buffer.compare(dataUrlBytes(upstream.image).bytes, picture)).toBe(0);
    expect(Buffer.compare(dataUrlBytes(upstream.image2).bytes, picture)).toBe(0);
  });

  it("runs a query as plain JSON and caches it", async () => {
    const { data } = await client.query({ query: HealthDocument });
    expect(data?.health.provider).toBe("SILICONFLOW");
    expect(typeof sent.at(-1)!.body).toBe("string");
    const count = sent.length;
    await client.query({ query: HealthDocument });
    expect(sent.length).toBe(count);
  });

  it("surfaces the gateway's error code", async () => {
    const error = await client
      .mutate({ mutation: GenerateImagesDocument, variables: { input: { model: "nobody/no-such-model", prompt: "x" } } })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(CombinedGraphQLErrors.is(error)).toBe(true);
    const first = (error as CombinedGraphQLErrors).errors[0];
    expect(first?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.model" });
  });

  it("without the CSRF header the gateway refuses the upload before reading it", async () => {
    const bare = new ApolloClient({ cache: new InMemoryCache(), link: ApolloLink.from([new UploadHttpLink({ uri: h.graphqlUrl })]) });
    const before = h.simulator.received.length;
    const error = await bare
      .mutate({
        mutation: GenerateImagesDocument,
        variables: { input: { model: "Qwen/Qwen-Image-Edit-2509", prompt: "x", images: [new Blob([new Uint8Array(await solidPng(8, 8, "#000"))])] } },
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    bare.stop();
    // A refusal before Apollo runs is answered as application/graphql-response+json (the client accepts it),
    // so Apollo Client 4 reads it as GraphQL errors with their code, not as a bare ServerError.
    expect(CombinedGraphQLErrors.is(error)).toBe(true);
    expect((error as CombinedGraphQLErrors).errors[0]?.extensions?.code).toBe("BAD_REQUEST");
    expect(h.simulator.received.length).toBe(before);
  });
});

describe("Apollo Client 4 with a split link: uploads over HTTP, the job's states over WebSocket", () => {
  let h: Harness;
  let client: ApolloClient;

  beforeAll(async () => {
    h = await startHarness({ simulator: { latencyMs: 300 } });
    const ws = new GraphQLWsLink(
      // Node 20 has no WebSocket of its own; a browser needs no webSocketImpl.
      createClient({ url: h.graphqlUrl.replace(/^http/, "ws"), webSocketImpl: WebSocket }),
    );
    const http = new UploadHttpLink({ uri: h.graphqlUrl, headers: { "apollo-require-preflight": "true" } });
    client = new ApolloClient({ cache: new InMemoryCache(), link: ApolloLink.split(({ query }) => isSubscriptionOperation(query), ws, http) });
  });
  afterAll(async () => {
    client?.stop();
    await h.close();
  });

  it("submits an edit with a file as a job, and watches it to SUCCEEDED over graphql-ws", async () => {
    const photo = new File([new Uint8Array(await solidPng(128, 96, "#aa3300"))], "photo.png", { type: "image/png" });
    const { data } = await client.mutate({
      mutation: SubmitGenerationDocument,
      variables: { input: { model: "Qwen/Qwen-Image-Edit-2509", prompt: "make it autumn", cfg: 4, images: [photo] } },
    });
    const job = data!.submitGeneration;
    expect(job.status).toBe("QUEUED");

    const statuses = await new Promise<string[]>((resolve, reject) => {
      const seen: string[] = [];
      client.subscribe({ query: GenerationJobUpdatedDocument, variables: { id: job.id } }).subscribe({
        next: (result) => {
          if (result.error) reject(new Error("the subscription failed", { cause: result.error }));
          else seen.push(result.data!.generationJobUpdated.status);
        },
        error: (error: unknown) => reject(new Error("the subscription failed", { cause: error })),
        complete: () => resolve(seen),
      });
    });
    expect(statuses.at(-1)).toBe("SUCCEEDED");
    expect(statuses.filter((status, i) => status !== statuses[i - 1])).toEqual(expect.arrayContaining(["RUNNING", "SUCCEEDED"]));

    // The same job read back over HTTP, its image kept by the gateway.
    const read = await client.query({ query: GenerationJobDocument, variables: { id: job.id }, fetchPolicy: "network-only" });
    const done = read.data!.generationJob!;
    expect(done.status).toBe("SUCCEEDED");
    const response = await fetch(done.result!.images[0]!.url);
    expect(response.status).toBe(200);
    expect(h.simulator.received.at(-1)!.body.prompt).toBe("make it autumn");
  });

  it("an unknown job's subscription fails with CombinedGraphQLErrors, code JOB_NOT_FOUND", async () => {
    const error = await new Promise<unknown>((resolve) => {
      client.subscribe({ query: GenerationJobUpdatedDocument, variables: { id: "no-such-job" } }).subscribe({
        next: (result) => resolve(result.error),
        error: resolve,
      });
    });
    expect(CombinedGraphQLErrors.is(error)).toBe(true);
    expect((error as CombinedGraphQLErrors).errors[0]?.extensions).toMatchObject({ code: "JOB_NOT_FOUND", field: "id" });
  });
});
