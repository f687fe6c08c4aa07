import { FieldResolver, Query, Resolver } from "type-graphql";
import { ImageModel } from "../schema/model.type.js";
import { Health, UpstreamHealth } from "../schema/health.type.js";
import type { Provider } from "../call-log/call-trace.js";
import { HealthStatus, type HealthService, type UpstreamProbe } from "../upstream/health.service.js";
import type { ModelRegistry } from "../models/model-registry.js";
import type { SharedStateHealth } from "../limits/shared-redis.js";
import { toImageModel } from "./model.resolver.js";

type HealthAnswer = Omit<Health, "models">;

export interface HealthResolverDeps {
  health: HealthService;
  registry: ModelRegistry;
  provider: Provider;
  version: string;
  startedAt: number;
  now: () => number;
  isDraining: () => boolean;
  /** Whether the shared state (Redis) can be reached; absent when none is configured. */
  sharedState?: () => SharedStateHealth;
}

@Resolver(() => Health)
export class HealthResolver {
  private lastView?: { source: UpstreamProbe; view: UpstreamHealth };

  constructor(private readonly deps: HealthResolverDeps) {}

  @Query(() => Health)
  health(): HealthAnswer | Promise<HealthAnswer> {
    // No promise while the probe is fresh: load balancers poll this many times per probe.
    const fresh = this.deps.health.fresh();
    return fresh ? this.answer(fresh) : this.deps.health.upstream().then((upstream) => this.answer(upstream));
  }

  private answer(upstream: UpstreamProbe): HealthAnswer {
    const shared = this.deps.sharedState?.();
    // Without Redis the gateway still generates, unshared: degraded, not down.
    const status = this.deps.isDraining() ? HealthStatus.DOWN : shared && !shared.available && upstream.state === HealthStatus.OK ? HealthStatus.DEGRADED : upstream.state;
    return {
      status,
      provider: this.deps.provider,
      version: this.deps.version,
      uptimeSeconds: (this.deps.now() - this.deps.startedAt) / 1000,
      upstream: this.viewOf(upstream),
      sharedState: shared ? { available: shared.available, error: shared.reason } : null,
    };
  }

  /** One view per probe result, not per request: load balancers poll this many times per probe. */
  private viewOf(upstream: UpstreamProbe): UpstreamHealth {
    if (this.lastView?.source !== upstream) {
      this.lastView = {
        source: upstream,
        view: {
          reachable: upstream.reachable,
          latencyMs: upstream.latencyMs === null ? null : Math.round(upstream.latencyMs * 1000) / 1000,
          checkedAt: new Date(upstream.checkedAt).toISOString(),
          error: upstream.error,
        },
      };
    }
    return this.lastView.view;
  }

  /** Only when asked for: a load balancer polling `{ health { status } }` should not pay for the model list. */
  @FieldResolver(() => [ImageModel])
  models(): ImageModel[] {
    return this.deps.registry.list().map(toImageModel);
  }
}
