import type { GraphQLResolveInfo } from "graphql";
import { Arg, Ctx, FieldResolver, Info, Mutation, Resolver, Root } from "type-graphql";
import type { GatewayContext } from "../context.js";
import { ErrorCode, GatewayError } from "../errors.js";
import { GenerateImagesInput } from "../schema/generation.input.js";
import { GeneratedImage, GenerateImagesPayload } from "../schema/generation.type.js";
import type { GenerationService } from "../generation/generation.service.js";
import type { ImageStore } from "../storage/image-store.js";

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
    const { images, cache, ...params } = input;
    const { trace, outcome } = await context.calls.run(String(info.path.key), context.caller.apiKey, (call) =>
      this.service.generate({ params, uploads: images ?? [], publicBaseUrl: context.publicBaseUrl, caller: context.caller, useCache: cache !== false }, call),
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

/**
 * What one `dataUrl` counts toward `limits.maxQueryComplexity`: an image inline is megabytes where any
 * other field is bytes. At 50, the default limit of 1000 lets an operation ask for at most 20 of them, so
 * a document of hundreds of `dataUrl` aliases is refused before it runs (and before a paid call); what a
 * looser limit lets through is still held to `maxInlineBytesPerResponse` as it runs.
 */
export const DATA_URL_COMPLEXITY = 50;

/** Length of the `data:` URL of `bytes` bytes: base64 makes 4 characters of every 3 bytes. */
function dataUrlLength(mimeType: string, bytes: number): number {
  return `data:${mimeType};base64,`.length + 4 * Math.ceil(bytes / 3);
}

@Resolver(() => GeneratedImage)
export class GeneratedImageResolver {
  constructor(private readonly store: ImageStore) {}

  @FieldResolver(() => String, {
    description:
      "The image inline as a `data:` URL. Read from the gateway's store only when asked for: it is large. One response carries at most " +
      "`limits.maxInlineBytesPerResponse` bytes of them, else this fails with RESPONSE_TOO_LARGE: prefer `url`.",
    complexity: DATA_URL_COMPLEXITY,
  })
  async dataUrl(@Root() image: GeneratedImage, @Ctx() context: GatewayContext): Promise<string> {
    // Reserved from the stored size before reading: past the budget nothing is read or encoded.
    if (!context.inlineBytes.reserve(dataUrlLength(image.mimeType, image.bytes))) {
      throw new GatewayError(
        ErrorCode.RESPONSE_TOO_LARGE,
        `The response would carry more than ${context.inlineBytes.limit} bytes of inline images (dataUrl); ask for url instead, or for fewer images inline`,
        { field: "dataUrl" },
      );
    }
    const data = await this.store.read(image.fileName);
    if (!data) throw new Error("stored image is missing");
    return `data:${image.mimeType};base64,${data.toString("base64")}`;
  }
}
