import type { ApolloServer } from "@apollo/server";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { CallRecorder } from "../call-log/recorder.js";
import type { GatewayContext } from "../context.js";
import { ErrorCode } from "../errors.js";
import type { Lifecycle } from "../lifecycle.js";

export interface DrainOptions {
  fastify: FastifyInstance;
  apollo: ApolloServer<GatewayContext>;
  recorder: Pick<CallRecorder, "whenIdle" | "interruptRunning">;
  lifecycle: Lifecycle;
  timeoutMs: number;
  logger: Logger;
}

/**
 * The HTTP side of a shutdown, bounded by `timeoutMs`. The listener stays open while calls run (they are
 * paid for): `/ready` answers 503 rather than refusing connections, and new generations get SHUTTING_DOWN.
 * Calls still running at the deadline each get their line, SHUTDOWN_INTERRUPTED, before their connections
 * are cut, since their responses never will be sent.
 */
export async function drain({ fastify, apollo, recorder, lifecycle, timeoutMs, logger }: DrainOptions): Promise<void> {
  lifecycle.drain();
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    recorder.whenIdle().then(() => false),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  if (timedOut) {
    const cut = recorder.interruptRunning(ErrorCode.SHUTDOWN_INTERRUPTED, (trace) =>
      trace.upstream.attempts > 0
        ? "the gateway shut down before the call finished; it may have run and been billed"
        : "the gateway shut down before the call reached SiliconFlow",
    );
    logger.warn({ calls: cut }, `shutdown deadline of ${timeoutMs} ms passed: ${cut} calls still running were cut and logged as SHUTDOWN_INTERRUPTED`);
  }
  const remainingMs = Math.max(0, timeoutMs - (performance.now() - started));
  const deadline = setTimeout(() => fastify.server.closeAllConnections(), remainingMs);
  // Node closes idle keep-alive connections once, when closing starts; one that turns idle a moment
  // later would hold the close until the deadline. Sweep until done.
  const sweep = setInterval(() => fastify.server.closeIdleConnections(), 50);
  try {
    await fastify.close();
  } finally {
    clearTimeout(deadline);
    clearInterval(sweep);
  }
  await apollo.stop();
}
