import { Field, Float, ObjectType, registerEnumType } from "type-graphql";
import { Provider } from "./generation.type.js";
import { ImageModel } from "./model.type.js";

export enum HealthStatus {
  OK = "OK",
  DEGRADED = "DEGRADED",
  DOWN = "DOWN",
}
registerEnumType(HealthStatus, {
  name: "HealthStatus",
  description: "OK: generations can run. DEGRADED: SiliconFlow answers, but with errors. DOWN: it cannot be reached or refuses the key, or the gateway is stopping.",
});

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

  @Field(() => [ImageModel])
  models!: ImageModel[];
}
