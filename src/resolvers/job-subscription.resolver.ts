import { Arg, ID, Resolver, Root, Subscription } from "type-graphql";
import type { SubscribeResolverData } from "type-graphql";
import type { SubscriptionContext } from "../context.js";
import { ErrorCode, GatewayError } from "../errors.js";
import type { JobFeed, JobView } from "../jobs/job.js";
import { GenerationJob } from "../schema/job.type.js";
import { toGenerationJob } from "./job.resolver.js";

/**
 * The feed's states of job `id`, as an iterator whose `return` (the client unsubscribed, or its socket
 * closed) aborts the watch at once: an async generator waiting for the next change would otherwise hold
 * its `return` until that change came. The first state is awaited here, so an unknown id is refused
 * with its code rather than ending in silence.
 */
async function watchJob(feed: JobFeed, id: string): Promise<AsyncIterableIterator<JobView>> {
  const controller = new AbortController();
  const states = feed.watch(id, controller.signal)[Symbol.asyncIterator]();
  const stop = async (): Promise<IteratorResult<JobView>> => {
    controller.abort();
    await states.return?.();
    return { done: true, value: undefined };
  };
  let first: IteratorResult<JobView>;
  try {
    first = await states.next();
  } catch (error) {
    controller.abort();
    throw error;
  }
  if (first.done) throw new GatewayError(ErrorCode.JOB_NOT_FOUND, `No job ${JSON.stringify(id.slice(0, 100))} for this client: unknown, expired, or submitted with another client token`, { field: "id" });
  let pending: JobView | undefined = first.value;
  const iterator: AsyncIterableIterator<JobView> = {
    next: async () => {
      if (pending) {
        const value = pending;
        pending = undefined;
        return { done: false, value };
      }
      return states.next();
    },
    return: stop,
    throw: async (error: unknown) => {
      await stop();
      throw error;
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

@Resolver()
export class JobSubscriptionResolver {
  @Subscription(() => GenerationJob, {
    description:
      "Every state of job `id` from now on, wherever it runs: the current one at once, then each change; it completes after SUCCEEDED, FAILED or " +
      "CANCELLED (a job already finished gives that state and completes). Over WebSocket only (graphql-ws protocol, on the GraphQL path).",
    subscribe: ({ args, context }: SubscribeResolverData<unknown, { id: string }, SubscriptionContext>) => watchJob(context.jobs, args.id),
  })
  generationJobUpdated(@Arg("id", () => ID) _id: string, @Root() job: JobView): GenerationJob {
    return toGenerationJob(job);
  }
}
