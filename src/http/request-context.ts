import type { FastifyInstance, FastifyRequest } from "fastify";
import type { GatewayConfig } from "../config/config.schema.js";
import { CallBook } from "../call-log/book.js";
import type { GatewayContext } from "../context.js";
import type { CallSink } from "../call-log/recorder.js";
import { AccessTokens } from "../limits/access.js";
import { ByteBudget } from "../limits/byte-budget.js";
import { Api, type Provider } from "../call-log/call-trace.js";
import type { Caller } from "../generation/generation.service.js";

export interface RequestContextOptions {
  config: GatewayConfig;
  provider: Provider;
  /** The gateway's own key, masked in each call's log line unless a caller brings theirs. */
  apiKey: string | undefined;
  recorder: CallSink;
  now: () => number;
  monotonicMs: () => number;
}

/** What a REST route needs to run its calls through the pipeline and have their lines written. */
export interface FaceCalls {
  calls: CallBook;
  caller: Caller;
  publicBaseUrl: string;
  /** Writes the lines of the calls run so far; call it before the answer is sent. */
  record(): void;
}

declare module "fastify" {
  interface FastifyRequest {
    /** Epoch ms when the request arrived (0 until the onRequest hook ran). */
    receivedAt: number;
    /** Monotonic counterpart of `receivedAt`. */
    receivedAtMono: number;
  }
}

/** What the HTTP layer knows about a request (arrival, caller, where URLs point), handed to GraphQL. */
export class RequestContexts {
  private readonly tokens: AccessTokens;
  private readonly acceptClientKeys: boolean;

  constructor(private readonly options: RequestContextOptions) {
    this.tokens = new AccessTokens(options.config.auth.tokens);
    // With the simulator there is no SiliconFlow to send a caller's key to.
    this.acceptClientKeys = options.config.auth.allowClientApiKey && options.provider === "SILICONFLOW";
  }

  /**
   * Stamps each request's arrival (the call log's total time runs from here) and echoes its id. The stamp
   * lives on the request, declared up front so every request keeps one shape: a WeakMap keyed by
   * request cost every health probe an ephemeron for the garbage collector to trace.
   */
  track(fastify: FastifyInstance): void {
    fastify.decorateRequest("receivedAt", 0);
    fastify.decorateRequest("receivedAtMono", 0);
    fastify.addHook("onRequest", (request, reply, done) => {
      request.receivedAt = this.options.now();
      request.receivedAtMono = this.options.monotonicMs();
      reply.header("x-request-id", request.id);
      done();
    });
  }

  private arrivalOf(request: FastifyRequest): { wall: number; mono: number } {
    return request.receivedAt > 0
      ? { wall: request.receivedAt, mono: request.receivedAtMono }
      : { wall: this.options.now(), mono: this.options.monotonicMs() };
  }

  /** What per-client limits count this request's calls by. */
  clientKeyOf(request: FastifyRequest): string {
    return this.callerOf(request).clientKey;
  }

  /** Who is calling: the token matched (if any), what limits count by, the caller's own key. */
  callerOf(request: FastifyRequest): Caller {
    const token = this.tokens.match(request.headers.authorization);
    const ownKey = request.headers["x-siliconflow-api-key"];
    return {
      authenticated: !this.tokens.required || token >= 0,
      clientKey: token >= 0 ? `token:${token}` : `ip:${request.ip}`,
      apiKey: this.acceptClientKeys && typeof ownKey === "string" && ownKey.trim() ? ownKey.trim() : undefined,
    };
  }

  private publicBaseUrl(request: FastifyRequest): string {
    const configured = this.options.config.publicUrl;
    return configured ? configured.replace(/\/+$/, "") : `${request.protocol}://${request.host}`;
  }

  /** `operationName` is a REST face's own name for the call; GraphQL's comes from the body. */
  contextFor(request: FastifyRequest, api: Api = Api.GRAPHQL, operationName: unknown = (request.body as { operationName?: unknown } | undefined)?.operationName): GatewayContext {
    const arrival = this.arrivalOf(request);
    const { provider, apiKey, now, recorder } = this.options;
    const caller = this.callerOf(request);
    const meta = {
      receivedAtMono: arrival.mono,
      requestId: request.id,
      operationName: typeof operationName === "string" ? operationName : null,
      clientIp: request.ip,
      clientKey: caller.clientKey,
    };
    return {
      requestId: request.id,
      receivedAt: arrival.wall,
      receivedAtMono: arrival.mono,
      publicBaseUrl: this.publicBaseUrl(request),
      clientIp: request.ip,
      calls: new CallBook(provider, apiKey, now, (trace) => recorder.begin(trace, meta), api),
      caller,
      inlineBytes: new ByteBudget(this.options.config.limits.maxInlineBytesPerResponse),
    };
  }

  /**
   * Writes the lines of a REST face's calls before its response leaves, as the call-log plugin does for
   * GraphQL: what the book holds is recorded once, and the book is emptied.
   */
  record(context: GatewayContext, operationName: string | null): void {
    const { calls } = context;
    if (calls.traces.length === 0) return;
    this.options.recorder.record(calls.traces, {
      receivedAtMono: context.receivedAtMono,
      requestId: context.requestId,
      operationName,
      clientIp: context.clientIp,
      clientKey: context.caller.clientKey,
    });
    calls.traces.length = 0;
  }

  /**
   * The calls of a request that came through a REST face: the caller and where URLs point, as for GraphQL,
   * a book whose calls name the face, and `record`, which writes their lines (once, before the answer
   * leaves, as the call-log plugin does for GraphQL).
   */
  callsFor(request: FastifyRequest, api: Api): FaceCalls {
    const context = this.contextFor(request, api, null);
    return {
      calls: context.calls,
      caller: context.caller,
      publicBaseUrl: context.publicBaseUrl,
      record: () => this.record(context, null),
    };
  }

  /**
   * A request refused before Apollo runs is a failed generation all the same: it gets its line, one per
   * generateImages when they are known (a GET mutation's), else one (a multipart body never read).
   */
  logRefusal(
    request: FastifyRequest,
    code: string,
    message: string,
    calls: { responseKeys: readonly (string | undefined)[]; operationName?: string | null; api?: Api } = { responseKeys: [undefined] },
  ): void {
    if (calls.responseKeys.length === 0) return;
    const book = new CallBook(this.options.provider, this.options.apiKey, this.options.now, undefined, calls.api);
    for (const key of calls.responseKeys) book.refuse(key, { code, message });
    const operationName = calls.operationName ?? request.headers["x-apollo-operation-name"];
    this.options.recorder.record(book.traces, {
      receivedAtMono: this.arrivalOf(request).mono,
      requestId: request.id,
      operationName: typeof operationName === "string" ? operationName : null,
      clientIp: request.ip,
      clientKey: this.clientKeyOf(request),
    });
  }
}
