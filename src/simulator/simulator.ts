import { randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setMaxListeners } from "node:events";
import { performance } from "node:perf_hooks";
import { setTimeout as delay } from "node:timers/promises";
import { builtinModels, type SimulatedModel } from "./catalogue.js";
import { FaultBook, faultRuleSchema, isAnswerFault, type AnswerFault, type Fault, type FaultRule, type FaultTarget } from "./faults.js";
import { InputImageError, resolveInputImages } from "./input-images.js";
import { OutputStore } from "./output-store.js";
import { parseJsonBody, readBody } from "./request-body.js";
import { paintEdit, paintScene, UndecodableImageError } from "./painter.js";
import {
  defaultErrorReply,
  guessContentType,
  invalidToken,
  objectStoreError,
  pageNotFound,
  payloadTooLarge,
  send,
  sendJson,
  sendReply,
  valueError,
  type ErrorReply,
} from "./responses.js";
import { maxSeed, validateGeneration, type GenerationRequest } from "./validation.js";

export { builtinModels, type SimulatedModel } from "./catalogue.js";
export type { Fault, FaultRule, FaultTarget } from "./faults.js";

/**
 * An "honest simulator" of SiliconFlow's image API (docs/siliconflow.md): a real HTTP server on
 * loopback, with the real paths, auth, validation, error body shapes, expiring output URLs and real PNGs,
 * plus switchable faults. Tests drive the gateway against it; the gateway starts one in-process when no
 * API key is configured.
 */

export interface SimulatorOptions {
  /** Default "127.0.0.1". */
  host?: string;
  /** Default 0 (ephemeral). */
  port?: number;
  /** When set, only `Authorization: Bearer <apiKey>` is accepted; when unset any non-empty bearer token is. */
  apiKey?: string;
  /** Simulated inference time added to every generation (default 0). */
  latencyMs?: number;
  /** How long output URLs stay valid (default 3_600_000, like SiliconFlow). */
  urlTtlMs?: number;
  /** Override the built-in catalogue. */
  models?: SimulatedModel[];
  /**
   * How many generation requests `received` keeps, oldest dropped first (default 100). Bodies hold the
   * base64 input images, so a long-running simulator (the gateway's no-key mode) should pass 0.
   */
  maxReceived?: number;
  /** Largest generation body accepted before a 413, in bytes (default 64 MiB). */
  maxBodyBytes?: number;
}

export interface ReceivedGeneration {
  body: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
  receivedAt: number;
}

export interface RunningSimulator {
  /** Base URL, e.g. "http://127.0.0.1:41234/v1" (use as SILICONFLOW_BASE_URL). */
  url: string;
  /**
   * Every POST /v1/images/generations body as parsed, in order, refused and faulted ones included (bodies
   * that are not a JSON object, or too large, are recorded as `{}`). Bounded by `maxReceived`.
   */
  received: ReceivedGeneration[];
  /** Arms a fault; throws (naming the field) when the rule is malformed, e.g. `times: 0`. */
  addFault(rule: FaultRule): void;
  clearFaults(): void;
  /** Drops every stored output image, so its URL now returns 404. */
  forgetImages(): void;
  /** Closes the server, ends hung requests, resolves when all sockets are closed. */
  close(): Promise<void>;
  /** Successful generations (HTTP 200) and successful downloads of output images. */
  stats(): { generations: number; downloads: number };
}

const defaultMaxBodyBytes = 64 * 1024 * 1024;
const controlBodyLimit = 64 * 1024;

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given, "utf8");
  const b = Buffer.from(expected, "utf8");
  return a.length === b.length && timingSafeEqual(a, b);
}

function urlHost(host: string): string {
  // A wildcard bind address is not something a client can connect to; loopback is.
  if (host === "0.0.0.0" || host === "") return "127.0.0.1";
  if (host === "::") return "[::1]";
  return host.includes(":") ? `[${host}]` : host;
}

class Simulator {
  readonly received: ReceivedGeneration[] = [];
  private readonly faults = new FaultBook();
  private readonly store: OutputStore;
  private readonly models: readonly SimulatedModel[];
  private readonly closing = (() => {
    const controller = new AbortController();
    // Every waiting request (latency, hangs) listens for the close: dozens at once is the normal case.
    setMaxListeners(0, controller.signal);
    return controller;
  })();
  private readonly server: Server;
  private origin = "";
  private closed: Promise<void> | undefined;
  private counts = { generations: 0, downloads: 0, receivedTotal: 0 };

  constructor(private readonly options: SimulatorOptions) {
    this.store = new OutputStore(options.urlTtlMs ?? 3_600_000);
    this.models = options.models ?? builtinModels;
    this.server = createServer((req, res) => {
      this.route(req, res).catch(() => {
        // Never let one request's failure reach the process: answer 500 if still possible, else drop it.
        if (!res.headersSent) sendReply(res, defaultErrorReply(500));
        else res.destroy();
      });
    });
  }

  async listen(): Promise<string> {
    const host = this.options.host ?? "127.0.0.1";
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.options.port ?? 0, host, () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    const { port } = this.server.address() as AddressInfo;
    this.origin = `http://${urlHost(host)}:${port}`;
    return `${this.origin}/v1`;
  }

  close(): Promise<void> {
    this.closed ??= new Promise<void>((resolve) => {
      this.closing.abort();
      this.store.clear();
      // The callback fires once every connection is gone; closeAllConnections ends the hung ones.
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    return this.closed;
  }

  addFault(rule: FaultRule): void {
    this.faults.add(rule);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  forgetImages(): void {
    this.store.clear();
  }

  stats(): { generations: number; downloads: number } {
    return { generations: this.counts.generations, downloads: this.counts.downloads };
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Split by hand: `new URL` would read a path starting with "//" as a host name.
    const raw = req.url ?? "/";
    const queryAt = raw.indexOf("?");
    const path = queryAt < 0 ? raw : raw.slice(0, queryAt);
    const query = new URLSearchParams(queryAt < 0 ? "" : raw.slice(queryAt + 1));
    const method = req.method ?? "GET";

    if (path === "/v1/images/generations" && method === "POST") return this.generation(req, res);
    if (path === "/v1/models" && method === "GET") return this.listModels(req, res, query);
    if (path.startsWith("/files/") && (method === "GET" || method === "HEAD")) return this.download(req, res, path, query);
    if (path === "/__simulator/faults") return this.controlFaults(req, res, method);
    if (path === "/__simulator/stats" && method === "GET") {
      return sendJson(res, 200, {
        ...this.stats(),
        received: this.counts.receivedTotal,
        storedImages: this.store.size,
        faults: this.faults.describe(),
      });
    }
    // "404 page not found" is Go net/http's default, which the real service sends for any unrouted request,
    // a known path with the wrong method included.
    sendReply(res, pageNotFound);
  }

  private async generation(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const read = await readBody(req, this.options.maxBodyBytes ?? defaultMaxBodyBytes);
    if (read.kind === "aborted") return;
    const json = read.kind === "ok" ? parseJsonBody(read.bytes) : undefined;
    this.record(req, json?.kind === "object" ? json.value : {});
    const traceHeaders = { "x-siliconcloud-trace-id": randomUUID() };

    const fault = this.faults.take("generation");
    const answerFault = isAnswerFault(fault) ? fault : undefined;
    if (fault && !answerFault && (await this.playFault(fault, "generation", req, res, traceHeaders))) return;
    // nginx in front of the real service refuses an oversized body before anything else looks at it.
    if (read.kind === "too-large" || json === undefined) {
      return sendReply(res, payloadTooLarge, { Connection: "close" });
    }
    if (!this.authorized(req)) return sendReply(res, invalidToken, traceHeaders);
    if (json.kind === "invalid") return sendReply(res, valueError("Invalid JSON"), traceHeaders);
    if (json.kind === "not-object") {
      return sendReply(res, valueError("Request body must be a JSON object"), traceHeaders);
    }

    const validation = validateGeneration(json.value, this.models);
    if (!validation.ok) return sendReply(res, validation.reply, traceHeaders);
    const request = validation.request;
    const seed = request.seed ?? Math.floor(Math.random() * (maxSeed + 1));

    const started = performance.now();
    let pngs: Buffer[];
    try {
      pngs = await this.paint(request, seed);
    } catch (error) {
      if (error instanceof InputImageError || error instanceof UndecodableImageError) {
        return sendReply(res, valueError(error.message), traceHeaders);
      }
      throw error;
    }
    const drawMs = performance.now() - started;
    const latencyMs = this.options.latencyMs ?? 0;
    if (!(await this.wait(latencyMs))) return;

    const images = this.outputUrls(pngs, answerFault).map((url) => ({ url }));
    this.counts.generations += 1;
    sendJson(
      res,
      200,
      {
        images,
        data: images.map((image) => ({ ...image })),
        timings: { inference: Math.round(latencyMs + drawMs) / 1000 },
        seed,
        created: Math.floor(Date.now() / 1000),
        shared_id: randomBytes(12).toString("hex"),
      },
      traceHeaders,
    );
  }

  private outputUrls(pngs: readonly Buffer[], fault: AnswerFault | undefined): string[] {
    switch (fault?.kind) {
      case undefined:
        return pngs.map((png) => `${this.origin}${this.store.put(png)}`);
      case "extra-outputs":
        return Array.from({ length: fault.count }, (_, i) => `${this.origin}${this.store.put(pngs[i % pngs.length]!)}`);
      case "output-urls":
        return fault.urls;
      case "output-host": {
        const origin = new URL(this.origin);
        origin.hostname = fault.host;
        return pngs.map((png) => `${origin.origin}${this.store.put(png)}`);
      }
    }
  }

  private async paint(request: GenerationRequest, seed: number): Promise<Buffer[]> {
    const indices = Array.from({ length: request.batchSize }, (_, index) => index);
    if (request.images.length === 0) {
      // Validation gives every model without input images a size (its default when none was asked for).
      const size = request.size ?? { width: 1024, height: 1024 };
      return Promise.all(indices.map((index) => paintScene(size, seed, request.prompt, index)));
    }
    const inputs = await resolveInputImages(request.images, this.closing.signal);
    return Promise.all(indices.map((index) => paintEdit(inputs, request.size, seed, request.prompt, index)));
  }

  private async listModels(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
    const traceHeaders = { "x-siliconcloud-trace-id": randomUUID() };
    if (await this.applyFault("models", req, res, traceHeaders)) return;
    if (!this.authorized(req)) return sendReply(res, invalidToken, traceHeaders);
    const type = query.get("type");
    const subType = query.get("sub_type");
    const listed = this.models.filter((model) => {
      // Every simulated model is an image model: another type lists nothing, as it would list no image model.
      if (type !== null && type !== "image") return false;
      if (subType === "text-to-image") return model.minImages === 0;
      if (subType === "image-to-image") return model.maxImages > 0;
      return subType === null;
    });
    sendJson(
      res,
      200,
      { object: "list", data: listed.map((model) => ({ id: model.id, object: "model", created: 0, owned_by: "" })) },
      traceHeaders,
    );
  }

  private async download(req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams): Promise<void> {
    if (await this.applyFault("download", req, res, {})) return;
    const match = /^\/files\/([^/]+)\.png$/.exec(path);
    const lookup = match ? this.store.get(match[1]!, query.get("expires"), query.get("sig")) : undefined;
    switch (lookup?.kind) {
      case "found":
        this.counts.downloads += 1;
        return send(res, 200, lookup.png, "image/png", { "Cache-Control": "private, max-age=3600" });
      case "expired":
        return sendReply(res, objectStoreError(403, "AccessDenied", "Request has expired"));
      case "bad-signature":
        // A forged link to an existing object is refused; one to nothing is simply not found.
        if (match && this.store.has(match[1]!)) {
          return sendReply(
            res,
            objectStoreError(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided."),
          );
        }
        return sendReply(res, objectStoreError(404, "NoSuchKey", "The specified key does not exist."));
      default:
        return sendReply(res, objectStoreError(404, "NoSuchKey", "The specified key does not exist."));
    }
  }

  private async controlFaults(req: IncomingMessage, res: ServerResponse, method: string): Promise<void> {
    if (method === "GET") return sendJson(res, 200, { faults: this.faults.describe() });
    if (method === "DELETE") {
      this.faults.clear();
      return sendJson(res, 200, { faults: [] });
    }
    if (method !== "POST") return sendReply(res, pageNotFound);
    const read = await readBody(req, controlBodyLimit);
    if (read.kind === "aborted") return;
    if (read.kind === "too-large") return sendReply(res, payloadTooLarge, { Connection: "close" });
    const json = parseJsonBody(read.bytes);
    const parsed = faultRuleSchema.safeParse(json.kind === "object" ? json.value : undefined);
    if (!parsed.success) {
      return sendJson(res, 400, { error: "invalid fault rule", issues: parsed.error.issues });
    }
    this.faults.add(parsed.data);
    sendJson(res, 201, { faults: this.faults.describe() });
  }

  /** Plays the next matching fault, if any. True when the request is dealt with (nothing more to send). */
  private async applyFault(
    target: FaultTarget,
    req: IncomingMessage,
    res: ServerResponse,
    headers: Record<string, string>,
  ): Promise<boolean> {
    const fault: Fault | undefined = this.faults.take(target);
    return fault ? this.playFault(fault, target, req, res, headers) : false;
  }

  private async playFault(
    fault: Fault,
    target: FaultTarget,
    req: IncomingMessage,
    res: ServerResponse,
    headers: Record<string, string>,
  ): Promise<boolean> {
    switch (fault.kind) {
      case "status": {
        const reply: ErrorReply =
          fault.body === undefined
            ? defaultErrorReply(fault.status)
            : { status: fault.status, body: fault.body, contentType: guessContentType(fault.body) };
        sendReply(res, { ...reply, status: fault.status }, { ...headers, ...fault.headers });
        return true;
      }
      case "malformed":
        if (target === "download") {
          // A PNG signature and then nothing: the shape of a transfer cut short.
          send(res, 200, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00]), "image/png");
        } else {
          send(res, 200, '{"images":[{"url":"http://', "application/json; charset=utf-8", headers);
        }
        return true;
      case "hang":
        // Nothing is sent; the socket stays open until the client gives up or close() ends it.
        return true;
      case "reset":
        // A TCP RST where the platform allows it: clients then see ECONNRESET, as with a dropped proxy.
        req.socket.resetAndDestroy();
        return true;
      case "latency":
        return !(await this.wait(fault.ms));
      default:
        // Faults on the answer's output URLs change what a generation sends, not whether it is sent.
        return false;
    }
  }

  /** Waits, unless the simulator closes first; false then. */
  private async wait(ms: number): Promise<boolean> {
    if (ms <= 0) return !this.closing.signal.aborted;
    try {
      await delay(ms, undefined, { signal: this.closing.signal });
      return true;
    } catch {
      return false;
    }
  }

  private authorized(req: IncomingMessage): boolean {
    const header = req.headers.authorization;
    const match = typeof header === "string" ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) return false;
    const expected = this.options.apiKey;
    return expected === undefined || sameSecret(match[1]!, expected);
  }

  private record(req: IncomingMessage, body: Record<string, unknown>): void {
    this.counts.receivedTotal += 1;
    const limit = this.options.maxReceived ?? 100;
    if (limit <= 0) return;
    this.received.push({ body, headers: { ...req.headers }, receivedAt: Date.now() });
    if (this.received.length > limit) this.received.splice(0, this.received.length - limit);
  }
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  const simulator = new Simulator(options);
  const url = await simulator.listen();
  return {
    url,
    received: simulator.received,
    addFault: (rule) => simulator.addFault(rule),
    clearFaults: () => simulator.clearFaults(),
    forgetImages: () => simulator.forgetImages(),
    close: () => simulator.close(),
    stats: () => simulator.stats(),
  };
}
