import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Logger } from "pino";
import type { GenerationService } from "../../generation/generation.service.js";
import type { RefusalLimits } from "../../limits/refusal-limits.js";
import type { ModelRegistry } from "../../models/model-registry.js";
import type { ImageStore } from "../../storage/image-store.js";
import type { FaceRefusals } from "../face-refusals.js";
import type { FormLimits } from "../form-reader.js";
import { registerRefusalGuard } from "../refusal-guard.js";
import type { RequestContexts } from "../request-context.js";
import { replyWithOpenAIError } from "./openai-error.js";
import { registerOpenAIErrorHandler } from "./openai-error-handler.js";
import { EDITS_PATH, GENERATIONS_PATH, registerOpenAIImageRoutes } from "./openai-images.route.js";
import { registerOpenAIModelsRoute } from "./openai-models.route.js";
import { registerImageUploads } from "./openai-uploads.js";

export const OPENAI_PREFIX = "/v1";

/**
 * The headers OpenAI's SDKs add to every request (their platform, retry and tenant headers, and a
 * User-Agent that Firefox sends and so asks for): a browser using the SDK from an origin CORS allows
 * sends them only after a preflight that names them all.
 */
export const OPENAI_SDK_HEADERS: readonly string[] = [
  "openai-organization",
  "openai-project",
  "user-agent",
  "x-stainless-arch",
  "x-stainless-lang",
  "x-stainless-os",
  "x-stainless-package-version",
  "x-stainless-retry-count",
  "x-stainless-runtime",
  "x-stainless-runtime-version",
  "x-stainless-timeout",
  "x-stainless-helper-method",
  "x-stainless-poll-helper",
  "x-stainless-custom-poll-interval",
];

export interface OpenAIFaceOptions {
  generation: GenerationService;
  registry: ModelRegistry;
  store: ImageStore;
  contexts: RequestContexts;
  refusals: RefusalLimits;
  /** Shared with the body timeouts, so that a request refused twice over still gets one line. */
  refusedCalls: FaceRefusals;
  logger: Logger;
  /** The edits route's form: the same bounds as /generate-images'. */
  form: FormLimits;
  /** Whether client tokens guard the model list as well as the calls. */
  protectModels: boolean;
  startedAt: number;
  now: () => number;
  monotonicMs: () => number;
}

/**
 * The OpenAI Images API under /v1, in a scope of its own: its error shape, its multipart parser and its
 * refusal guard stay here, and the GraphQL route keeps its own. Calls go through the same
 * GenerationService, CallBook and recorder as GraphQL's, with `api: "openai"` on their lines.
 */
export async function registerOpenAIFace(fastify: FastifyInstance, options: OpenAIFaceOptions): Promise<void> {
  const { contexts, refusedCalls } = options;
  const logRefusal = (request: FastifyRequest, code: string, message: string): void => refusedCalls.log(request, code, message);

  await fastify.register(
    async (scope) => {
      registerOpenAIErrorHandler(scope, { logger: options.logger, onRefused: logRefusal });
      // Before the form reader's hook: a client past its refusal budget has no body read.
      for (const path of [GENERATIONS_PATH, EDITS_PATH]) {
        registerRefusalGuard(scope, {
          path: `${OPENAI_PREFIX}${path}`,
          refusals: options.refusals,
          clientKeyOf: (request) => contexts.clientKeyOf(request),
          onRefused: logRefusal,
          answer: (reply: FastifyReply, status, code, message, extra) =>
            replyWithOpenAIError(reply, { status, code, message, param: null, retryAfterSeconds: extra.retryAfterSeconds }),
        });
      }
      const uploadedImages = await registerImageUploads(scope, {
        path: `${OPENAI_PREFIX}${EDITS_PATH}`,
        limits: options.form,
        refuse: (request, reply, refusal) => {
          logRefusal(request, refusal.code, refusal.message);
          return replyWithOpenAIError(reply, { status: refusal.status, code: refusal.code, message: refusal.message, param: refusal.field });
        },
      });
      registerOpenAIImageRoutes(scope, {
        generation: options.generation,
        store: options.store,
        contexts,
        logger: options.logger,
        now: options.now,
        monotonicMs: options.monotonicMs,
        onRecorded: (request) => refusedCalls.markRecorded(request),
        onRefused: logRefusal,
        uploadedImages,
      });
      registerOpenAIModelsRoute(scope, { registry: options.registry, contexts, protect: options.protectModels, startedAt: options.startedAt });
    },
    { prefix: OPENAI_PREFIX },
  );
}
