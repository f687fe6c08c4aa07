import { CombinedGraphQLErrors, ServerError, ServerParseError } from "@apollo/client";

/** What the page shows for a failed call: a sentence for people, then what the server said. */
export interface ShownError {
  /** The server's `extensions.code`, or a code of the page's own (FORM, NETWORK, CANCELLED). */
  code: string;
  headline: string;
  /** The server's own message, verbatim. */
  serverMessage?: string;
  /** The input at fault as the server names it, e.g. `input.images[0]`. */
  field?: string;
  /** The same field in the form's words, e.g. `Input image 1 (cat.png)`. */
  fieldLabel?: string;
}

/** One sentence per stable code of the gateway's contract (README "Errors"). */
export const ERROR_SENTENCES = {
  BAD_USER_INPUT: "The gateway did not accept part of the form.",
  PAYLOAD_TOO_LARGE: "The upload is too large for the gateway. Use fewer or smaller images.",
  UNAUTHENTICATED: "The gateway needs an access token: enter it under Access token.",
  RATE_LIMITED: "Too many calls in a short time. Wait a moment, then try again.",
  REQUEST_TIMEOUT: "The request took too long to reach the gateway. Check the connection and try again.",
  UPSTREAM_UNAUTHORIZED: "SiliconFlow refused the gateway's API key. Whoever runs the gateway needs to check it.",
  UPSTREAM_RATE_LIMITED: "SiliconFlow is limiting calls right now. Wait a little, then try again.",
  UPSTREAM_BAD_REQUEST: "SiliconFlow refused the request. Check the prompt and the settings.",
  UPSTREAM_UNAVAILABLE: "SiliconFlow could not be reached or failed. Try again later.",
  UPSTREAM_TIMEOUT: "SiliconFlow took too long to answer. Try again, perhaps with fewer or smaller images.",
  INTERNAL_SERVER_ERROR: "Something went wrong inside the gateway. Try again; if it keeps happening, tell whoever runs it.",
  // Apollo's own codes: the page and the server disagree about the schema or the request.
  BAD_REQUEST: "The gateway could not read the request. Reload the page and try again.",
  GRAPHQL_VALIDATION_FAILED: "This page does not match the gateway's API any more. Reload the page.",
  GRAPHQL_PARSE_FAILED: "This page does not match the gateway's API any more. Reload the page.",
  NETWORK: "The gateway could not be reached. Check the connection and that the gateway is running.",
  CANCELLED: "Cancelled. The page stopped waiting; a call already sent to SiliconFlow may still run and be billed.",
  JOB_CANCELLED: "Cancelled. The job was cancelled before it started: nothing was billed.",
  JOB_NOT_FOUND: "The gateway no longer knows this job: its record has expired, or it was never submitted.",
  UPSTREAM_INTERRUPTED: "The gateway stopped while SiliconFlow was generating: the images may have been made and billed, but are lost. Submit again if you need them.",
  SHUTTING_DOWN: "The gateway is restarting. Try again in a moment.",
  FORM: "Check the form.",
} as const satisfies Record<string, string>;

/** UNAUTHENTICATED although the page sent a token: the contract's sentence would read as if none was. */
const TOKEN_REFUSED = "The gateway did not accept the access token: check it under Access token.";

function sentenceFor(code: string): string | undefined {
  return (ERROR_SENTENCES as Readonly<Record<string, string | undefined>>)[code];
}

const FIELD_NAMES: Readonly<Record<string, string>> = {
  model: "Model",
  prompt: "Prompt",
  negativePrompt: "Negative prompt",
  imageSize: "Image size",
  batchSize: "Number of images",
  seed: "Seed",
  numInferenceSteps: "Steps",
  guidanceScale: "Guidance scale",
  cfg: "CFG",
  images: "Input images",
};

/** `input.images[1]` → `Input image 2 (dog.png)`; `input.batchSize` → `Number of images`. */
export function describeField(field: string, fileNames: readonly string[] = []): string {
  const image = /^(?:input\.)?images[.[](\d+)\]?$/.exec(field);
  if (image) {
    const index = Number(image[1]);
    const name = fileNames[index];
    return `Input image ${index + 1}${name ? ` (${name})` : ""}`;
  }
  const key = field.replace(/^input\./, "");
  return FIELD_NAMES[key] ?? field;
}

interface WireError {
  message?: unknown;
  extensions?: { code?: unknown; field?: unknown; retryAfterSeconds?: unknown } | null;
}

/** What the page knew when it sent the call, to put the server's answer in the form's words. */
export interface CallFacts {
  /** Names of the uploaded files, in the order they were sent. */
  fileNames?: readonly string[];
  /** Whether an access token went with the call. */
  tokenSent?: boolean;
}

function fromWireError(error: WireError, { fileNames = [], tokenSent = false }: CallFacts): ShownError {
  const code = typeof error.extensions?.code === "string" ? error.extensions.code : "INTERNAL_SERVER_ERROR";
  const field = typeof error.extensions?.field === "string" ? error.extensions.field : undefined;
  const serverMessage = typeof error.message === "string" ? error.message : undefined;
  let headline = (code === "UNAUTHENTICATED" && tokenSent ? TOKEN_REFUSED : sentenceFor(code)) ?? `The gateway refused the call (${code}).`;
  const retry = error.extensions?.retryAfterSeconds;
  if ((code === "RATE_LIMITED" || code === "UPSTREAM_RATE_LIMITED") && typeof retry === "number") {
    headline = `${headline} You can try again in ${Math.ceil(retry)} s.`;
  }
  const shown: ShownError = { code, headline };
  if (serverMessage) shown.serverMessage = serverMessage;
  if (field) {
    shown.field = field;
    shown.fieldLabel = describeField(field, fileNames);
    if (code === "BAD_USER_INPUT") shown.headline = `The gateway did not accept ${shown.fieldLabel}.`;
  }
  return shown;
}

/** Pre-execution refusals (upload limits, CSRF) come as plain JSON with a non-2xx status. */
function wireErrorsOf(bodyText: string): WireError[] {
  try {
    const body = JSON.parse(bodyText) as { errors?: unknown };
    return Array.isArray(body.errors) ? (body.errors as WireError[]) : [];
  } catch {
    return [];
  }
}

/** A job that ended FAILED, as the page shows it: its error's code and message as the gateway gave them. */
export function describeJobError(error: { code: string; message: string }, facts: CallFacts = {}): ShownError {
  return fromWireError({ message: error.message, extensions: { code: error.code } }, facts);
}

/** Turns whatever a failed call threw into what the page shows. */
export function describeError(error: unknown, facts: CallFacts = {}): ShownError {
  if (CombinedGraphQLErrors.is(error)) {
    const first = error.errors[0];
    if (first) return fromWireError(first, facts);
  }
  if (ServerError.is(error)) {
    const first = wireErrorsOf(error.bodyText)[0];
    if (first) return fromWireError(first, facts);
    if (error.statusCode === 413) return fromWireError({ extensions: { code: "PAYLOAD_TOO_LARGE" } }, facts);
    return { code: `HTTP_${error.statusCode}`, headline: `The gateway answered with HTTP ${error.statusCode}.`, serverMessage: error.bodyText.slice(0, 300) };
  }
  if (ServerParseError.is(error)) {
    return { code: "NETWORK", headline: "The gateway's answer could not be read. A proxy in between may have replaced it." };
  }
  if (error instanceof DOMException && error.name === "AbortError") {
    return { code: "CANCELLED", headline: ERROR_SENTENCES.CANCELLED };
  }
  if (error instanceof TypeError) {
    // fetch() rejects with a TypeError when no HTTP answer came at all.
    return { code: "NETWORK", headline: ERROR_SENTENCES.NETWORK, serverMessage: error.message };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: "UNKNOWN", headline: "The call failed.", serverMessage: message };
}
