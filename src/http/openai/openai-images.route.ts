import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Logger } from "pino";
import { Api, type CallTrace } from "../../call-log/call-trace.js";
import { ErrorCode, GatewayError } from "../../errors.js";
import type { GenerationOutcome, GenerationService } from "../../generation/generation.service.js";
import type { IncomingFile } from "../../generation/upload-reader.js";
import type { ByteBudget } from "../../limits/byte-budget.js";
import type { ImageStore } from "../../storage/image-store.js";
import type { RequestContexts } from "../request-context.js";
import { failureOf, replyWithOpenAIError } from "./openai-error.js";
import { generationParams, type OpenAIImageFields, type ResponseFormat } from "./openai-params.js";
import { editsSchema, generationsSchema } from "./openai-schemas.js";
import { MASK_UNSUPPORTED } from "./openai-uploads.js";

export const GENERATIONS_PATH = "/images/generations";
export const EDITS_PATH = "/images/edits";

declare module "fastify" {
  interface FastifyContextConfig {
    /** An image call's `operation_name` in the call log: OpenAI's own operation id. */
    openaiOperation?: string;
  }
}

/** The image call a request to this face is, if it is one (its routes say so in their config). */
export function operationOf(request: FastifyRequest): string | null {
  return request.routeOptions.config?.openaiOperation ?? null;
}

export interface OpenAIImageRouteDeps {
  generation: GenerationService;
  store: ImageStore;
  contexts: RequestContexts;
  logger: Logger;
  now: () => number;
  monotonicMs: () => number;
  /** Told of each request whose call this route has recorded, so the error handler writes no second line. */
  onRecorded: (request: FastifyRequest) => void;
  /** Writes the failed line of a call refused here, before the service. */
  onRefused: (request: FastifyRequest, code: string, message: string) => void;
  /** The edit's input images, in order, as its form brought them. */
  uploadedImages: (request: FastifyRequest) => Promise<IncomingFile>[];
}

type ImageDatum = { url: string } | { b64_json: string };

/**
 * `b64_json` reads the stored images back, within the same per-response budget of inline bytes as
 * GraphQL's `dataUrl`; past it the call stands (it was made and paid for) and the answer says to ask
 * for URLs.
 */
async function imageData(outcome: GenerationOutcome, format: ResponseFormat, store: ImageStore, budget: ByteBudget): Promise<ImageDatum[]> {
  if (format === "url") return outcome.images.map((image) => ({ url: image.url }));
  return Promise.all(
    outcome.images.map(async (image) => {
      if (!budget.reserve(4 * Math.ceil(image.bytes / 3))) {
        throw new GatewayError(
          ErrorCode.RESPONSE_TOO_LARGE,
          `The response would carry more than ${budget.limit} bytes of inline images (b64_json); ask for response_format url instead`,
          { field: "response_format" },
        );
      }
      const data = await store.read(image.fileName);
      if (!data) throw new Error("stored image is missing");
      return { b64_json: data.toString("base64") };
    }),
  );
}

/**
 * The two image routes: parse, call the generation service through the request's book, map the outcome or
 * the error to OpenAI's shapes. Every rule (tokens, limits, budgets, the model's parameters) is the service's.
 */
export function registerOpenAIImageRoutes(scope: FastifyInstance, deps: OpenAIImageRouteDeps): void {
  const { generation, store, contexts } = deps;

  const run = async (request: FastifyRequest, reply: FastifyReply, fields: OpenAIImageFields, uploads: Promise<IncomingFile>[]): Promise<FastifyReply> => {
    const operation = operationOf(request);
    const context = contexts.contextFor(request, Api.OPENAI, operation);
    // Before the answer leaves, as for GraphQL: a line survives a crash right after the response.
    const writeLine = (): void => {
      contexts.record(context, operation);
      deps.onRecorded(request);
    };
    let ran: { trace: CallTrace; outcome: GenerationOutcome };
    try {
      ran = await context.calls.run(undefined, context.caller.apiKey, (call) =>
        generation.generate({ params: generationParams(fields), uploads, publicBaseUrl: context.publicBaseUrl, caller: context.caller }, call),
      );
    } catch (error) {
      writeLine();
      return replyWithOpenAIError(reply, failureOf(error));
    }
    const { trace, outcome } = ran;
    let data: ImageDatum[];
    try {
      data = await imageData(outcome, fields.response_format ?? "url", store, context.inlineBytes);
    } catch (error) {
      // The call succeeded and its line says so: a fault reading its images back is the application log's.
      if (!(error instanceof GatewayError)) deps.logger.error({ reqId: request.id, callId: trace.callId, err: error }, "stored images could not be read back");
      writeLine();
      return replyWithOpenAIError(reply, failureOf(error));
    }
    writeLine();
    return reply.send({
      created: Math.floor(deps.now() / 1000),
      data,
      seed: outcome.seed,
      timings: { inference_seconds: outcome.inferenceSeconds, total_ms: Math.round((deps.monotonicMs() - context.receivedAtMono) * 1000) / 1000 },
      call_id: trace.callId,
      cache_hit: outcome.cacheHit,
    });
  };

  scope.post(GENERATIONS_PATH, { schema: generationsSchema, config: { openaiOperation: generationsSchema.operationId } }, async (request, reply) => {
    const body = request.body as OpenAIImageFields & { stream?: boolean };
    if (body.stream === true) {
      return refuseField(reply, request, deps, "stream", "streaming is not supported: send stream false or leave it out");
    }
    return run(request, reply, body, []);
  });

  scope.post(EDITS_PATH, { schema: editsSchema, config: { openaiOperation: editsSchema.operationId } }, async (request, reply) => {
    const body = request.body as OpenAIImageFields & { mask?: unknown };
    if (body.mask !== undefined) return refuseField(reply, request, deps, "mask", MASK_UNSUPPORTED);
    return run(request, reply, body, deps.uploadedImages(request));
  });
}

/** A field this face cannot honour: refused like any bad input, with its failed line, before the service. */
function refuseField(reply: FastifyReply, request: FastifyRequest, deps: OpenAIImageRouteDeps, param: string, message: string): FastifyReply {
  deps.onRefused(request, ErrorCode.BAD_USER_INPUT, message);
  return replyWithOpenAIError(reply, { status: 400, code: ErrorCode.BAD_USER_INPUT, param, message });
}
