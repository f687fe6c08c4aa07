import type { MiddlewareFn } from "type-graphql";
import type { GatewayContext } from "../context.js";
import { ErrorCode, GatewayError } from "../services/errors.js";

/** With `auth.protectQueries`, health and models need a client token too (generateImages always does). */
export const protectQueries: MiddlewareFn<GatewayContext> = async ({ context, info }, next) => {
  if (info.parentType.name === "Query" && context.queriesNeedToken && !context.caller.authenticated) {
    throw new GatewayError(ErrorCode.UNAUTHENTICATED, "This query needs a client token: send `Authorization: Bearer <token>`");
  }
  return next();
};
