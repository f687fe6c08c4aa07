import type { FastifyRequest } from "fastify";
import type { Api } from "../call-log/call-trace.js";
import type { CutFace } from "./body-timeouts.js";
import type { RequestContexts } from "./request-context.js";

export interface FaceRefusalsOptions {
  /** The face its lines name. */
  api: Api;
  /** Whether the request is one of the face's generation calls, and the `operation_name` its line carries. */
  callOf: (request: FastifyRequest) => { operationName: string | null } | undefined;
  /** The face's error body, for the 408 of a body cut for stalling. */
  timeoutBody: (code: string, message: string) => string;
}

/**
 * The failed lines of a REST face's calls refused before the service ran them: by the refusal budget, the
 * form's parser, a schema, a field the face cannot honour, or a body that stalled. Each request gets one
 * line, whichever of these sees it first: a stalled body is cut, and then its parser fails as well.
 */
export class FaceRefusals {
  private readonly recorded = new WeakSet<FastifyRequest>();

  constructor(
    private readonly contexts: RequestContexts,
    private readonly options: FaceRefusalsOptions,
  ) {}

  /** Writes the refused call's line, unless the request is no call of this face or has its line. */
  log(request: FastifyRequest, code: string, message: string): void {
    const call = this.options.callOf(request);
    if (call === undefined || this.recorded.has(request)) return;
    this.recorded.add(request);
    this.contexts.logRefusal(request, code, message, { responseKeys: [undefined], api: this.options.api, operationName: call.operationName });
  }

  /** The route has written the call's line itself. */
  markRecorded(request: FastifyRequest): void {
    this.recorded.add(request);
  }

  /** For the body timeouts: this face's requests are logged and answered here. */
  cutFace(request: FastifyRequest): CutFace | undefined {
    if (this.options.callOf(request) === undefined) return undefined;
    return { onRefused: (cut, code, message) => this.log(cut, code, message), body: this.options.timeoutBody };
  }
}
