import { FieldResolver, Query, Resolver } from "type-graphql";
import { ImageModel } from "../schema/model.type.js";
import { Provider } from "../schema/generation.type.js";
import { Health, HealthStatus } from "../schema/health.type.js";
import type { Provider as ServiceProvider } from "../services/call-trace.js";
import type { HealthService } from "../services/health.service.js";
import type { ModelRegistry } from "../services/model-registry.js";
import { toImageModel } from "./model.resolver.js";

export interface HealthResolverDeps {
  health: HealthService;
  registry: ModelRegistry;
  provider: ServiceProvider;
  version: string;
  startedAt: number;
  now: () => number;
  isDraining: () => boolean;
}

@Resolver(() => Health)
export class HealthResolver {
  constructor(private readonly deps: HealthResolverDeps) {}

  @Query(() => Health)
  async health(): Promise<Omit<Health, "models">> {
    const upstream = await this.deps.health.upstream();
    return {
      status: this.deps.isDraining() ? HealthStatus.DOWN : HealthStatus[upstream.state],
      provider: Provider[this.deps.provider],
      version: this.deps.version,
      uptimeSeconds: (this.deps.now() - this.deps.startedAt) / 1000,
      upstream: {
        reachable: upstream.reachable,
        latencyMs: upstream.latencyMs === null ? null : Math.round(upstream.latencyMs * 1000) / 1000,
        checkedAt: new Date(upstream.checkedAt).toISOString(),
        error: upstream.error,
      },
    };
  }

  /** Only when asked for: a load balancer polling `{ health { status } }` should not pay for the model list. */
  @FieldResolver(() => [ImageModel])
  models(): ImageModel[] {
    return this.deps.registry.list().map(toImageModel);
  }
}
