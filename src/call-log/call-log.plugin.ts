import type { ApolloServerPlugin } from "@apollo/server";
import type { GatewayContext } from "../context.js";
import type { CallSink } from "./recorder.js";
import { generationFields } from "../plugins/generation-fields.js";

function firstError(errors: readonly { message: string; extensions?: Record<string, unknown> }[] | undefined): { code: string; message: string } {
  const error = errors?.[0];
  const code = error?.extensions?.code;
  return { code: typeof code === "string" ? code : "BAD_USER_INPUT", message: error?.message ?? "the request was refused" };
}

/**
 * Writes the calls of a request, one line each, before the response leaves (so a line survives a crash
 * right after the response). A request refused before execution (bad variables, say) still logs each
 * generateImages it named, refused through the request's book like every other refusal.
 */
export function callLogPlugin(recorder: CallSink): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse(requestContext) {
          const { contextValue, request, errors, document, operation } = requestContext;
          const calls = contextValue.calls;
          if (calls.traces.length === 0 && errors?.length) {
            const failure = firstError(errors);
            for (const key of generationFields(document, operation, request.variables ?? {})) calls.refuse(key, failure);
          }
          if (calls.traces.length === 0) return;
          recorder.record(calls.traces, {
            receivedAtMono: contextValue.receivedAtMono,
            requestId: contextValue.requestId,
            operationName: request.operationName ?? operation?.name?.value ?? null,
            clientIp: contextValue.clientIp,
            clientKey: contextValue.caller.clientKey,
          });
          calls.traces.length = 0;
        },
      };
    },
  };
}
