import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { Api } from "../../call-log/call-trace.js";
import { asGatewayError } from "../../errors.js";
import type { GenerationService } from "../../generation/generation.service.js";
import type { IncomingFile } from "../../generation/upload-reader.js";
import type { RefusalLimits } from "../../limits/refusal-limits.js";
import type { CutFace } from "../body-timeouts.js";
import { FaceRefusals } from "../face-refusals.js";
import { registerRefusalGuard } from "../refusal-guard.js";
import { transportFailureOf } from "../transport-failure.js";
import type { RequestContexts } from "../request-context.js";
import { registerFormReading, type FormLimits } from "../form-reader.js";
import { generateImagesSchema, type GenerateImagesForm } from "./generate-images.schema.js";
import { replyWithGatewayError, replyWithRestError, restErrorBody } from "./rest-error.js";

export const GENERATE_IMAGES_PATH = "/generate-images";

/** The form part that carries the input images, repeated once per image, in order. */
const IMAGES_FIELD = "images";

export interface GenerateImagesRouteOptions {
  generation: GenerationService;
  contexts: RequestContexts;
  refusals: RefusalLimits;
  monotonicMs: () => number;
  limits: FormLimits & {
    /** The whole request, checked against Content-Length before a byte is parsed. */
    maxRequestBytes: number;
  };
}

/**
 * `POST /generate-images`, the original design's REST API: a multipart form in, the images, the seed and
 * the timings out, in snake_case. It runs in a plugin scope of its own, so that its multipart parser
 * (@fastify/multipart) and its error shape leave the GraphQL route's untouched.
 *
 * Thin: the form is read, the call is run by the same GenerationService as GraphQL's, through a CallBook
 * whose calls say `api: "rest"`, and the outcome or the GatewayError is mapped. Every answer (the
 * transport's refusals, a schema violation, the service's refusals and failures, a body cut for stalling)
 * has its call's line, one, written before the answer leaves.
 */
export class GenerateImagesRoute {
  /** Its refusals before the service, one line a request: a body cut for stalling also fails the form being read. */
  private readonly refusals: FaceRefusals;
  private imagesOf: (request: FastifyRequest) => IncomingFile[] = () => [];

  constructor(private readonly options: GenerateImagesRouteOptions) {
    this.refusals = new FaceRefusals(options.contexts, {
      api: Api.REST,
      callOf: (request) => (request.routeOptions.url === GENERATE_IMAGES_PATH ? { operationName: null } : undefined),
      timeoutBody: (code, message) => JSON.stringify(restErrorBody(code, message)),
    });
  }

  /** How the body timeouts cut this route's requests: its own line, once, and a 408 in its shape. */
  cutFace(request: FastifyRequest): CutFace | undefined {
    return this.refusals.cutFace(request);
  }

  private refuse(request: FastifyRequest, reply: FastifyReply, status: number, code: string, message: string, field: string | null = null): FastifyReply {
    this.refusals.log(request, code, message);
    return replyWithRestError(reply, status, code, message, { field });
  }

  async register(app: FastifyInstance): Promise<void> {
    const { contexts, limits } = this.options;
    await app.register(async (scope) => {
      // Fastify's own refusals (the route schema, the body limit, the media type), in this face's shape.
      scope.setErrorHandler((error: FastifyError, request, reply) => {
        const failure = transportFailureOf(error, { mediaTypes: "Send the form as multipart/form-data", whole: "the form" });
        if (failure.status >= 500) request.log.error({ err: error }, "unhandled error on the REST face");
        return this.refuse(request, reply, failure.status, failure.code, failure.message, failure.field);
      });

      registerRefusalGuard(scope, {
        path: GENERATE_IMAGES_PATH,
        refusals: this.options.refusals,
        clientKeyOf: (request) => contexts.clientKeyOf(request),
        onRefused: (request, code, message) => this.refusals.log(request, code, message),
        answer: (reply, status, code, message, extra) => replyWithRestError(reply, status, code, message, extra),
      });

      // After the refusal guard: a client past its refusal budget has no form read.
      this.imagesOf = await registerFormReading(scope, {
        path: GENERATE_IMAGES_PATH,
        limits,
        shape: { imageFields: [IMAGES_FIELD] },
        formOnly: true,
        maxRequestBytes: limits.maxRequestBytes,
        refuse: (request, reply, refusal) => this.refuse(request, reply, refusal.status, refusal.code, refusal.message, refusal.field),
      });

      scope.post(GENERATE_IMAGES_PATH, { schema: generateImagesSchema }, (request, reply) => this.handle(request, reply));
    });
  }

  private async handle(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const { generation, contexts, monotonicMs } = this.options;
    const { cache, model, prompt, negative_prompt, image_size, batch_size, seed, num_inference_steps, guidance_scale, cfg } = request.body as GenerateImagesForm;
    const params = { model, prompt, negativePrompt: negative_prompt, imageSize: image_size, batchSize: batch_size, seed, numInferenceSteps: num_inference_steps, guidanceScale: guidance_scale, cfg };
    const uploads = this.imagesOf(request).map((file) => Promise.resolve(file));
    const face = contexts.callsFor(request, Api.REST);
    try {
      const { trace, outcome } = await face.calls.run(undefined, face.caller.apiKey, (call) =>
        generation.generate({ params, uploads, publicBaseUrl: face.publicBaseUrl, caller: face.caller, useCache: cache !== false }, call),
      );
      face.record();
      return reply.send({
        call_id: trace.callId,
        model,
        provider: trace.provider,
        images: outcome.images.map((image) => ({ index: image.index, url: image.url, width: image.width, height: image.height, type: image.mimeType, size: image.bytes })),
        seed: outcome.seed,
        timings: { inference: outcome.inferenceSeconds, total_ms: Math.round((monotonicMs() - request.receivedAtMono) * 1000) / 1000 },
        cache_hit: outcome.cacheHit,
      });
    } catch (error) {
      face.record();
      return replyWithGatewayError(reply, asGatewayError(error));
    }
  }
}
