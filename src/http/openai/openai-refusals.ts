import type { FastifyRequest } from "fastify";
import { Api } from "../../call-log/call-trace.js";
import type { CutFace } from "../body-timeouts.js";
import type { RequestContexts } from "../request-context.js";
import { openAIErrorBody } from "./openai-error.js";
import { operationOf } from "./openai-images.route.js";

/**
 * The failed lines of the face's image calls refused before the service ran them: by a schema, the body
 * parser, the upload limits, the refusal budget or a body that stalled. Each request gets one line,
 * whichever of these sees it first (a stalled body is cut, then its parser fails too).
 */
export class OpenAIRefusals {
  private readonly recorded = new WeakSet<FastifyRequest>();

  constructor(private readonly contexts: RequestContexts) {}

  /** Writes the refused call's line, unless the request is not an image call or has its line. */
  log(request: FastifyRequest, code: string, message: string): void {
    const operationName = operationOf(request);
    if (operationName === null || this.recorded.has(request)) return;
    this.recorded.add(request);
    this.contexts.logRefusal(request, code, message, { responseKeys: [undefined], api: Api.OPENAI, operationName });
  }

  /** The route has written the call's line itself. */
  markRecorded(request: FastifyRequest): void {
    this.recorded.add(request);
  }

  /** For the body timeouts: this face's requests are logged and answered here. */
  cutFace(request: FastifyRequest): CutFace | undefined {
    if (operationOf(request) === null) return undefined;
    return {
      onRefused: (cut, code, message) => this.log(cut, code, message),
      body: (code, message) => JSON.stringify(openAIErrorBody({ status: 408, code, message, param: null })),
    };
  }
}
