import type { GraphQLResolveInfo } from "graphql";
import { Arg, Ctx, ID, Info, Mutation, Query, Resolver } from "type-graphql";
import type { Provider } from "../call-log/call-trace.js";
import type { GatewayContext } from "../context.js";
import type { JobService } from "../jobs/job.service.js";
import type { JobView } from "../jobs/job.js";
import { GenerateImagesInput } from "../schema/generation.input.js";
import { GenerationJob } from "../schema/job.type.js";

/** A job as the schema shows it: epoch milliseconds become DateTimes. */
export function toGenerationJob(view: JobView): GenerationJob {
  const date = (ms: number | null) => (ms === null ? null : new Date(ms));
  return {
    ...view,
    createdAt: new Date(view.createdAt),
    startedAt: date(view.startedAt),
    finishedAt: date(view.finishedAt),
    // The job keeps the provider as written by the record it ran under, always one of Provider's values.
    result: view.result ? { ...view.result, provider: view.result.provider as Provider } : null,
  };
}

@Resolver(() => GenerationJob)
export class JobResolver {
  constructor(private readonly jobs: JobService) {}

  @Mutation(() => GenerationJob, {
    description:
      "Check and queue a generation, answered at once with the job (QUEUED); collect it with `generationJob`. Bad input is refused here with the codes of " +
      "`generateImages`. The same `idempotencyKey` from the same client within 24 h returns the same job; `webhookUrl` is POSTed the finished job.",
  })
  async submitGeneration(
    @Arg("input", () => GenerateImagesInput) input: GenerateImagesInput,
    @Arg("idempotencyKey", () => String, { nullable: true }) idempotencyKey: string | null | undefined,
    @Arg("webhookUrl", () => String, { nullable: true }) webhookUrl: string | null | undefined,
    @Ctx() context: GatewayContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<GenerationJob> {
    const { images, cache, ...params } = input;
    const view = await context.calls.submit(String(info.path.key), context.caller.apiKey, (trace) =>
      this.jobs.submit(
        { params, uploads: images ?? [], publicBaseUrl: context.publicBaseUrl, caller: context.caller, useCache: cache !== false },
        {
          idempotencyKey,
          webhookUrl,
          submission: { requestId: context.requestId, clientIp: context.clientIp, operationName: info.operation.name?.value ?? null },
        },
        trace,
      ),
    );
    return toGenerationJob(view);
  }

  @Mutation(() => GenerationJob, { description: "A QUEUED job becomes CANCELLED and nothing is billed; a RUNNING or finished one is refused with JOB_NOT_CANCELLABLE." })
  async cancelGeneration(@Arg("id", () => ID) id: string, @Ctx() context: GatewayContext): Promise<GenerationJob> {
    return toGenerationJob(await this.jobs.cancel(id, context.caller));
  }

  @Query(() => GenerationJob, { nullable: true, description: "A job by id; null when unknown, expired, or submitted with another client token." })
  async generationJob(@Arg("id", () => ID) id: string, @Ctx() context: GatewayContext): Promise<GenerationJob | null> {
    const view = await this.jobs.get(id, context.caller);
    return view ? toGenerationJob(view) : null;
  }
}
