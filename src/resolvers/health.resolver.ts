import { Query, Resolver } from "type-graphql";
import { Health, HealthStatus } from "../schema/health.type.js";
import { Provider } from "../schema/generation.type.js";
import type { Provider as ServiceProvider } from "../services/call-trace.js";

export interface HealthInfo {
  provider: ServiceProvider;
  version: string;
  startedAt: number;
  now: () => number;
}

@Resolver(() => Health)
export class HealthResolver {
  constructor(private readonly info: HealthInfo) {}

  @Query(() => Health)
  health(): Health {
    return {
      status: HealthStatus.OK,
      provider: this.info.provider === "SIMULATOR" ? Provider.SIMULATOR : Provider.SILICONFLOW,
      version: this.info.version,
      uptimeSeconds: (this.info.now() - this.info.startedAt) / 1000,
    };
  }
}
