import type { GraphQLResolveInfo } from "graphql";
import { Arg, Ctx, FieldResolver, Info, Mutation, Resolver, Root } from "type-graphql";
import type { GatewayContext } from "../context.js";
import { GenerateImagesInput } from "../schema/generation.input.js";
import { GeneratedImage, GenerateImagesPayload } from "../schema/generation.type.js";
import type { GenerationService } from "../services/generation.service.js";
import type { ImageStore } from "../services/image-store.js";

@Resolver(() => GenerateImagesPayload)
export class GenerationResolver {
  constructor(
    private readonly service: GenerationService,
    private readonly now: () => number = () => performance.now(),
  ) {}

  @Mutation(() => GenerateImagesPayload, { description: "Generate or edit images. Send files with the GraphQL multipart request spec." })
  async generateImages(
    @Arg("input", () => GenerateImagesInput) input: GenerateImagesInput,
    @Ctx() context: GatewayContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<GenerateImagesPayload> {
    const started = this.now();
    const trace = context.calls.open(String(info.path.key), context.caller.apiKey);
    const { images, cache, ...params } = input;
    const outcome = await this.service.generate(
      { params, uploads: images ?? [], publicBaseUrl: context.publicBaseUrl, caller: context.caller, useCache: cache !== false },
      trace,
    );
    return {
      callId: trace.callId,
      provider: trace.provider,
      model: input.model,
      seed: outcome.seed,
      images: outcome.images.map(({ index, url, width, height, mimeType, bytes, fileName }) => ({ index, url, width, height, mimeType, bytes, fileName })),
      timings: { inferenceSeconds: outcome.inferenceSeconds, totalMs: Math.round((this.now() - started) * 1000) / 1000 },
      cacheHit: outcome.cacheHit,
    };
  }
}

@Resolver(() => GeneratedImage)
export class GeneratedImageResolver {
  constructor(private readonly store: ImageStore) {}

  @FieldResolver(() => String, {
    description: "The image inline as a `data:` URL. Read from the gateway's store only when asked for: it is large.",
  })
  async dataUrl(@Root() image: GeneratedImage): Promise<string> {
    const data = await this.store.read(image.fileName);
    if (!data) throw new Error("stored image is missing");
    return `data:${image.mimeType};base64,${data.toString("base64")}`;
  }
}
