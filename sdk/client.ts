import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { Kind, print, type DocumentNode } from "graphql";
import {
  CancelGenerationDocument,
  GenerateImagesDocument,
  GenerationJobDocument,
  HealthDocument,
  ModelsDocument,
  SubmitGenerationDocument,
  type CancelGenerationMutation,
  type GenerateImagesInput,
  type GenerateImagesMutation,
  type GenerationJobQuery,
  type HealthQuery,
  type ModelsQuery,
  type SubmitGenerationMutation,
} from "./generated/graphql.js";

// Runs in Node 20+ and in browsers: only fetch, FormData, Blob and File from the platform, no Node modules.

/** Codes the client itself gives when the server never produced a GraphQL error to carry one. */
export const ClientErrorCode = {
  /** fetch failed: the server could not be reached, or the request was aborted. */
  NETWORK_ERROR: "NETWORK_ERROR",
  /** The server answered something that is not a GraphQL response (a proxy's HTML page, say). */
  BAD_RESPONSE: "BAD_RESPONSE",
} as const;

export interface GraphQLErrorEntry {
  message: string;
  path?: ReadonlyArray<string | number>;
  locations?: ReadonlyArray<{ line: number; column: number }>;
  extensions?: Record<string, unknown>;
}

export interface GatewayClientErrorDetails {
  code: string;
  status?: number;
  field?: string;
  retryAfterSeconds?: number;
  errors?: readonly GraphQLErrorEntry[];
  /** Whatever data came back beside the errors (another aliased field may have succeeded). */
  data?: unknown;
  cause?: unknown;
}

/**
 * A failed call. `code` is the server's `extensions.code` (`BAD_USER_INPUT`, `RATE_LIMITED`, …; see
 * docs/clients.md), or one of {@link ClientErrorCode} when no GraphQL error came back.
 */
export class GatewayClientError extends Error {
  override name = "GatewayClientError";
  readonly code: string;
  /** HTTP status of the response; undefined when there was none. */
  readonly status: number | undefined;
  /** The input field at fault, e.g. `input.model`, for `BAD_USER_INPUT`. */
  readonly field: string | undefined;
  /** How long to wait before trying again, for the rate-limit codes. */
  readonly retryAfterSeconds: number | undefined;
  /** Every error of the response; the first one names this error. */
  readonly errors: readonly GraphQLErrorEntry[];
  readonly data: unknown;

  constructor(message: string, details: GatewayClientErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = details.code;
    this.status = details.status;
    this.field = details.field;
    this.retryAfterSeconds = details.retryAfterSeconds;
    this.errors = details.errors ?? [];
    this.data = details.data;
  }
}

export interface GatewayClientOptions {
  /** The GraphQL endpoint, e.g. `http://localhost:4000/graphql`. */
  url: string;
  /** Sent as `authorization: Bearer <token>`. */
  token?: string;
  /** Defaults to the global fetch; pass one to add retries, tracing or a test double. */
  fetch?: typeof fetch;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
}

export interface RequestOptions {
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

/** Variables may be left out only when the operation declares none that are required. */
type RequestArgs<TVariables> =
  Record<string, never> extends TVariables
    ? [variables?: TVariables, options?: RequestOptions]
    : [variables: TVariables, options?: RequestOptions];

export type GenerateImagesResult = GenerateImagesMutation["generateImages"];
export type HealthResult = HealthQuery["health"];
export type ModelsResult = ModelsQuery["models"];
export type GenerationJobResult = SubmitGenerationMutation["submitGeneration"];
export type CancelledJobResult = CancelGenerationMutation["cancelGeneration"];

export interface SubmitOptions extends RequestOptions {
  /** The same key from the same client within 24 hours returns the same job: a retried submit is not billed twice. */
  idempotencyKey?: string;
  /** Where the finished job is POSTed, signed (see the README's webhooks). */
  webhookUrl?: string;
}

export interface GatewayClient {
  /** Any typed document from sdk/generated (or your own `TypedDocumentNode`). Files in the variables go multipart. */
  request<TResult, TVariables>(document: TypedDocumentNode<TResult, TVariables>, ...args: RequestArgs<TVariables>): Promise<TResult>;
  /** `images` are File or Blob values, sent in order as SiliconFlow's image, image2, image3. */
  generateImages(input: GenerateImagesInput & { images?: Array<File | Blob> | null }, options?: RequestOptions): Promise<GenerateImagesResult>;
  /** The same input as generateImages, as a job: answered at once with QUEUED and its id. */
  submitGeneration(input: GenerateImagesInput & { images?: Array<File | Blob> | null }, options?: SubmitOptions): Promise<GenerationJobResult>;
  /** The job's state now; null for an unknown (or expired) id. */
  generationJob(id: string, options?: RequestOptions): Promise<GenerationJobResult | null>;
  /** A QUEUED job becomes CANCELLED; a RUNNING one cannot, and this throws with the reason. */
  cancelGeneration(id: string, options?: RequestOptions): Promise<CancelledJobResult>;
  health(options?: RequestOptions): Promise<HealthResult>;
  models(options?: RequestOptions): Promise<ModelsResult>;
}

function isFile(value: unknown): value is Blob {
  return typeof Blob !== "undefined" && value instanceof Blob;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

interface Extracted {
  /** The variables with every file replaced by null, as the multipart spec wants. */
  clone: unknown;
  /** Each distinct file and the operation paths it fills (one part may fill several). */
  files: Map<Blob, string[]>;
}

/** The multipart request spec's extraction: files out of the variables, null left in their place. */
export function extractFiles(value: unknown, path = "variables"): Extracted {
  const files = new Map<Blob, string[]>();
  const walk = (node: unknown, at: string): unknown => {
    if (isFile(node)) {
      const paths = files.get(node) ?? [];
      paths.push(at);
      files.set(node, paths);
      return null;
    }
    if (Array.isArray(node)) return node.map((item, i) => walk(item, `${at}.${i}`));
    if (isPlainObject(node)) return Object.fromEntries(Object.entries(node).map(([key, item]) => [key, walk(item, `${at}.${key}`)]));
    return node;
  };
  return { clone: walk(value, path), files };
}

const printed = new WeakMap<DocumentNode, string>();

function queryText(document: DocumentNode): string {
  let text = printed.get(document);
  if (text === undefined) {
    text = print(document);
    printed.set(document, text);
  }
  return text;
}

function operationName(document: DocumentNode): string | undefined {
  for (const definition of document.definitions) {
    if (definition.kind === Kind.OPERATION_DEFINITION && definition.name) return definition.name.value;
  }
  return undefined;
}

function fileName(file: Blob, index: number): string {
  if (typeof File !== "undefined" && file instanceof File && file.name) return file.name;
  return `upload-${index}`;
}

function retryAfterHeader(response: Response): number | undefined {
  const value = response.headers.get("retry-after");
  if (value === null) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

interface GraphQLResponseBody {
  data?: Record<string, unknown> | null;
  errors?: GraphQLErrorEntry[];
}

function isResponseBody(value: unknown): value is GraphQLResponseBody {
  return isPlainObject(value) && ("data" in value || Array.isArray(value.errors));
}

function errorFromResponse(body: GraphQLResponseBody, response: Response): GatewayClientError {
  const errors = body.errors ?? [];
  const first = errors[0];
  const extensions = first?.extensions ?? {};
  const code = typeof extensions.code === "string" ? extensions.code : "INTERNAL_SERVER_ERROR";
  const retry = typeof extensions.retryAfterSeconds === "number" ? extensions.retryAfterSeconds : retryAfterHeader(response);
  return new GatewayClientError(first?.message ?? `HTTP ${response.status} without data`, {
    code,
    status: response.status,
    field: typeof extensions.field === "string" ? extensions.field : undefined,
    retryAfterSeconds: retry,
    errors,
    data: body.data ?? undefined,
  });
}

export function createGatewayClient(options: GatewayClientOptions): GatewayClient {
  const doFetch = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
  const baseHeaders: Record<string, string> = {
    accept: "application/graphql-response+json, application/json",
    // Apollo's CSRF prevention refuses multipart (and simple GET) requests without it; harmless on JSON.
    "apollo-require-preflight": "true",
    ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
    ...options.headers,
  };

  async function send<TResult>(document: DocumentNode, variables: unknown, requestOptions: RequestOptions = {}): Promise<TResult> {
    const query = queryText(document);
    const name = operationName(document);
    const { clone, files } = extractFiles(variables ?? {});
    const headers: Record<string, string> = { ...baseHeaders, ...requestOptions.headers };
    let body: BodyInit;
    if (files.size === 0) {
      headers["content-type"] = "application/json";
      body = JSON.stringify({ query, variables: variables ?? {}, ...(name ? { operationName: name } : {}) });
    } else {
      // The order the spec requires: operations, then map, then the files, so servers can stream them.
      const form = new FormData();
      form.append("operations", JSON.stringify({ query, variables: clone, ...(name ? { operationName: name } : {}) }));
      const entries = [...files];
      form.append("map", JSON.stringify(Object.fromEntries(entries.map(([, paths], i) => [String(i), paths]))));
      entries.forEach(([file, _paths], i) => form.append(String(i), file, fileName(file, i)));
      body = form;
      // No content-type: fetch writes it with the multipart boundary.
    }

    let response: Response;
    try {
      response = await doFetch(options.url, { method: "POST", headers, body, signal: requestOptions.signal });
    } catch (error) {
      throw new GatewayClientError(`request to ${options.url} failed: ${error instanceof Error ? error.message : String(error)}`, {
        code: ClientErrorCode.NETWORK_ERROR,
        cause: error,
      });
    }

    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!isResponseBody(parsed)) {
      throw new GatewayClientError(`HTTP ${response.status}: not a GraphQL response`, {
        code: ClientErrorCode.BAD_RESPONSE,
        status: response.status,
        retryAfterSeconds: retryAfterHeader(response),
      });
    }
    if ((parsed.errors && parsed.errors.length > 0) || !parsed.data) throw errorFromResponse(parsed, response);
    return parsed.data as TResult;
  }

  return {
    request<TResult, TVariables>(document: TypedDocumentNode<TResult, TVariables>, ...[variables, requestOptions]: RequestArgs<TVariables>) {
      return send<TResult>(document, variables, requestOptions);
    },
    async generateImages(input, requestOptions) {
      return (await send<GenerateImagesMutation>(GenerateImagesDocument, { input }, requestOptions)).generateImages;
    },
    async submitGeneration(input, { idempotencyKey, webhookUrl, ...requestOptions } = {}) {
      const variables = { input, ...(idempotencyKey === undefined ? {} : { idempotencyKey }), ...(webhookUrl === undefined ? {} : { webhookUrl }) };
      return (await send<SubmitGenerationMutation>(SubmitGenerationDocument, variables, requestOptions)).submitGeneration;
    },
    async generationJob(id, requestOptions) {
      return (await send<GenerationJobQuery>(GenerationJobDocument, { id }, requestOptions)).generationJob ?? null;
    },
    async cancelGeneration(id, requestOptions) {
      return (await send<CancelGenerationMutation>(CancelGenerationDocument, { id }, requestOptions)).cancelGeneration;
    },
    async health(requestOptions) {
      return (await send<HealthQuery>(HealthDocument, {}, requestOptions)).health;
    },
    async models(requestOptions) {
      return (await send<ModelsQuery>(ModelsDocument, {}, requestOptions)).models;
    },
  };
}
