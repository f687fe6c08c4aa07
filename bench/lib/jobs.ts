import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";
import { EDIT_MODEL, EDIT_PROMPT } from "./edits.js";

const SUBMIT = /* GraphQL */ `
  mutation BenchSubmit($input: GenerateImagesInput!) {
    submitGeneration(input: $input) { id status }
  }
`;
const STATE = "status createdAt startedAt finishedAt error { code message } result { images { url bytes } }";
const READ = /* GraphQL */ `
  query BenchJob($id: ID!) { generationJob(id: $id) { ${STATE} } }
`;
const UPDATED = /* GraphQL */ `
  subscription BenchJobUpdated($id: ID!) { generationJobUpdated(id: $id) { ${STATE} } }
`;

interface JobState {
  status: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  error: { code: string; message: string } | null;
  result: { images: Array<{ url: string; bytes: number }> } | null;
}

const FINAL = new Set(["SUCCEEDED", "FAILED", "CANCELLED"]);

/** How the client learns that a job finished: the subscription, or polling `generationJob`. */
export interface JobWatcher {
  kind: "subscription" | "polling";
  untilFinal(id: string): Promise<JobState>;
  close(): Promise<void>;
}

/**
 * Where a job's time went, ms: its submission as the client saw it (to the QUEUED answer); on the
 * gateway's clock, from `createdAt` to `startedAt` (a worker took it, often before the answer was read)
 * and on to `finishedAt`; then until the client was told, which compares the gateway's clock with this
 * process's (on one machine, the same clock).
 */
export interface JobSplit {
  submitMs: number;
  queuedMs: number;
  runningMs: number;
  toldMs: number;
}

/**
 * The same edit as a job: the GraphQL multipart upload of `submitGeneration` (answered QUEUED), then the
 * watcher until the job is final. Resolves with the time from the request's start to SUCCEEDED.
 */
export async function jobEdit(gatewayUrl: string, png: Buffer, watcher: JobWatcher): Promise<{ ms: number; split: JobSplit }> {
  const started = performance.now();
  const form = new FormData();
  form.append("operations", JSON.stringify({ query: SUBMIT, variables: { input: { model: EDIT_MODEL, prompt: EDIT_PROMPT, images: [null] } } }));
  form.append("map", JSON.stringify({ 0: ["variables.input.images.0"] }));
  form.append("0", new Blob([png as Buffer<ArrayBuffer>], { type: "image/png" }), "input.png");
  const response = await fetch(`${gatewayUrl}/graphql`, { method: "POST", headers: { "apollo-require-preflight": "true" }, body: form });
  const text = await response.text();
  const parsed = JSON.parse(text) as { data?: { submitGeneration?: { id: string; status: string } } | null; errors?: Array<{ message: string }> };
  const id = parsed.data?.submitGeneration?.id;
  if (response.status !== 200 || !id) throw new Error(`submitGeneration failed (HTTP ${response.status}): ${text.slice(0, 300)}`);
  const submitMs = performance.now() - started;
  const final = await watcher.untilFinal(id);
  const ms = performance.now() - started;
  const toldWall = Date.now();
  if (final.status !== "SUCCEEDED" || !final.result?.images[0] || !final.startedAt || !final.finishedAt) {
    throw new Error(`job ${id} ended ${final.status}: ${JSON.stringify(final.error)}`);
  }
  const startedAt = Date.parse(final.startedAt);
  const finishedAt = Date.parse(final.finishedAt);
  return {
    ms,
    split: { submitMs, queuedMs: startedAt - Date.parse(final.createdAt), runningMs: finishedAt - startedAt, toldMs: toldWall - finishedAt },
  };
}

/**
 * One graphql-ws connection for the whole run, as Apollo Client's GraphQLWsLink keeps one: each job is a
 * subscription on it, opened once `submitGeneration` has answered with the job's id.
 */
export function subscriptionWatcher(gatewayUrl: string): JobWatcher {
  const client: Client = createClient({
    url: `${gatewayUrl.replace(/^http/, "ws")}/graphql`,
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: 0,
  });
  return {
    kind: "subscription",
    async untilFinal(id) {
      for await (const event of client.iterate<{ generationJobUpdated: JobState }>({ query: UPDATED, variables: { id } })) {
        if (event.errors) throw new Error(`generationJobUpdated: ${JSON.stringify(event.errors)}`);
        const job = event.data?.generationJobUpdated;
        if (job && FINAL.has(job.status)) return job;
      }
      throw new Error(`generationJobUpdated for ${id} completed before a final state`);
    },
    async close() {
      await client.dispose();
    },
  };
}

/** `generationJob` every `intervalMs` over HTTP, as a client without a WebSocket (curl) would. */
export function pollingWatcher(gatewayUrl: string, intervalMs: number): JobWatcher {
  return {
    kind: "polling",
    async untilFinal(id) {
      for (;;) {
        const response = await fetch(`${gatewayUrl}/graphql`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ query: READ, variables: { id } }),
        });
        const body = (await response.json()) as { data?: { generationJob?: JobState | null }; errors?: unknown };
        const job = body.data?.generationJob;
        if (!job) throw new Error(`generationJob ${id}: ${JSON.stringify(body.errors ?? null)}`);
        if (FINAL.has(job.status)) return job;
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
      }
    },
    async close() {},
  };
}
