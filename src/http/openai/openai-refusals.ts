import { Api } from "../../call-log/call-trace.js";
import { FaceRefusals } from "../face-refusals.js";
import type { RequestContexts } from "../request-context.js";
import { openAIErrorBody } from "./openai-error.js";
import { operationOf } from "./openai-images.route.js";

/** The OpenAI face's refusals before the service: its image calls, named by OpenAI's operation id, answered in its shape. */
export function openAIRefusals(contexts: RequestContexts): FaceRefusals {
  return new FaceRefusals(contexts, {
    api: Api.OPENAI,
    callOf: (request) => {
      const operationName = operationOf(request);
      return operationName === null ? undefined : { operationName };
    },
    timeoutBody: (code, message) => JSON.stringify(openAIErrorBody({ status: 408, code, message, param: null })),
  });
}
