import { postJson, type GraphQLResponse } from "./harness.js";

export const JOB_FIELDS = /* GraphQL */ `
  id status model createdAt startedAt finishedAt queuePosition
  error { code message }
  result { callId provider model seed cacheHit images { index url width height mimeType bytes } timings { inferenceSeconds totalMs } }
`;

export const SUBMIT = /* GraphQL */ `
  mutation Submit($input: GenerateImagesInput!, $key: String, $webhookUrl: String) {
    submitGeneration(input: $input, idempotencyKey: $key, webhookUrl: $webhookUrl) { ${JOB_FIELDS} }
  }
`;

export const JOB = /* GraphQL */ `
  query Job($id: ID!) { generationJob(id: $id) { ${JOB_FIELDS} } }
`;

export const CANCEL = /* GraphQL */ `
  mutation Cancel($id: ID!) { cancelGeneration(id: $id) { ${JOB_FIELDS} } }
`;

export interface Job {
  id: string;
  status: "QUEUED" | "RUNNING" | "SUCCEEDED" | "FAILED" | "CANCELLED";
  model: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  queuePosition: number | null;
  error: { code: string; message: string } | null;
  result: {
    callId: string;
    provider: string;
    model: string;
    seed: number | null;
    cacheHit: boolean;
    images: Array<{ index: number; url: string; width: number; height: number; mimeType: string; bytes: number }>;
    timings: { inferenceSeconds: number | null; totalMs: number };
  } | null;
}

export async function submitJob(
  graphqlUrl: string,
  input: Record<string, unknown>,
  options: { key?: string; headers?: Record<string, string> } = {},
): Promise<GraphQLResponse<{ submitGeneration: Job }>> {
  return postJson<{ submitGeneration: Job }>(graphqlUrl, SUBMIT, { input, key: options.key }, options.headers);
}

export async function readJob(graphqlUrl: string, id: string, headers: Record<string, string> = {}): Promise<Job | null> {
  const { body } = await postJson<{ generationJob: Job | null }>(graphqlUrl, JOB, { id }, headers);
  if (body.errors) throw new Error(`generationJob failed: ${JSON.stringify(body.errors)}`);
  return body.data!.generationJob;
}

/** Polls `generationJob` until the job is in one of `states` (bounded by `timeoutMs`), as a client collecting it would. */
export async function pollJob(graphqlUrl: string, id: string, states: readonly Job["status"][], timeoutMs = 20_000, headers: Record<string, string> = {}): Promise<Job> {
  const deadline = Date.now() + timeoutMs;
  let last: Job | null = null;
  while (Date.now() < deadline) {
    last = await readJob(graphqlUrl, id, headers);
    if (last && states.includes(last.status)) return last;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`job ${id} not in ${states.join("/")} after ${timeoutMs} ms: ${JSON.stringify(last)}`);
}
