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
