import { Field, Float, ObjectType } from "type-graphql";
import { HealthStatus, Provider } from "./enums.js";
import { ImageModel } from "./model.type.js";

@ObjectType({ description: "The last probe of SiliconFlow's model list (free; never a paid generation), cached briefly." })
export class UpstreamHealth {
  @Field()
  reachable!: boolean;

  @Field(() => Float, { nullable: true })
  latencyMs?: number | null;

  @Field({ description: "ISO 8601 time of the probe." })
  checkedAt!: string;

  @Field(() => String, { nullable: true })
  error?: string | null;
}

@ObjectType({ description: "The state several replicas share (Redis: rate-limit counters, result cache). While it is unreachable, generations go on unshared and the status is DEGRADED." })
export class SharedStateHealth {
  @Field()
  available!: boolean;

  @Field(() => String, { nullable: true, description: "Why it cannot be reached; null while it can." })
  error?: string | null;
}

@ObjectType()
export class Health {
  @Field(() => HealthStatus)
  status!: HealthStatus;

  @Field(() => Provider)
  provider!: Provider;

  @Field()
  version!: string;

  @Field(() => Float)
  uptimeSeconds!: number;

  @Field(() => UpstreamHealth)
  upstream!: UpstreamHealth;

  @Field(() => SharedStateHealth, { nullable: true, description: "Null when no Redis is configured (REDIS_URL)." })
  sharedState?: SharedStateHealth | null;

  @Field(() => [ImageModel])
  models!: ImageModel[];
}
