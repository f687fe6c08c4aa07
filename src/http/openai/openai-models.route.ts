import type { FastifyInstance } from "fastify";
import type { ModelRegistry } from "../../models/model-registry.js";
import type { RequestContexts } from "../request-context.js";
import { replyWithOpenAIError } from "./openai-error.js";
import { modelsSchema } from "./openai-schemas.js";
import { ErrorCode } from "../../errors.js";

export interface OpenAIModelsRouteDeps {
  registry: ModelRegistry;
  contexts: RequestContexts;
  /** Client tokens guard the model list too (`auth.protectQueries`), as they guard GraphQL's `models`. */
  protect: boolean;
  /** Epoch ms: OpenAI's `created` for every model, the moment this gateway started knowing them. */
  startedAt: number;
}

/**
 * OpenAI's model list, of the models the configured key can call, from the registry's cache: listing
 * them costs no upstream call. Beside OpenAI's fields, what a client needs to call one.
 */
export function registerOpenAIModelsRoute(scope: FastifyInstance, deps: OpenAIModelsRouteDeps): void {
  const created = Math.floor(deps.startedAt / 1000);
  scope.get("/models", { schema: modelsSchema }, async (request, reply) => {
    if (deps.protect && !deps.contexts.callerOf(request).authenticated) {
      return replyWithOpenAIError(reply, {
        status: 401,
        code: ErrorCode.UNAUTHENTICATED,
        param: null,
        message: "the model list needs a client token: send `Authorization: Bearer <token>`",
      });
    }
    return {
      object: "list",
      data: deps.registry
        .list()
        .filter((model) => model.available)
        .map((model) => ({
          id: model.id,
          object: "model",
          created,
          owned_by: "siliconflow",
          kind: model.kind,
          max_input_images: model.maxInputImages,
          max_n: model.maxBatchSize,
          sizes: model.imageSizes,
        })),
    };
  });
}
