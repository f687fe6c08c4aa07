import { Field, Float, ObjectType, registerEnumType } from "type-graphql";
import { Provider } from "./generation.type.js";

export enum HealthStatus {
  OK = "OK",
  DEGRADED = "DEGRADED",
  DOWN = "DOWN",
}
registerEnumType(HealthStatus, { name: "HealthStatus" });

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
}
