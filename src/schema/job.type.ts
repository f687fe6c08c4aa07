import { Field, ID, Int, ObjectType } from "type-graphql";
import { JobStatus } from "./enums.js";
import { GenerateImagesPayload } from "./generation.type.js";
import { DateTime } from "./scalars.js";

@ObjectType({ description: "Why a job failed: a stable error code (as in `generateImages` errors) and a message." })
export class GenerationJobError {
  @Field()
  code!: string;

  @Field()
  message!: string;
}

@ObjectType({ description: "A generation submitted with `submitGeneration`: it outlives the connection, the process and the replica." })
export class GenerationJob {
  @Field(() => ID)
  id!: string;

  @Field(() => JobStatus)
  status!: JobStatus;

  @Field()
  model!: string;

  @Field(() => DateTime)
  createdAt!: Date;

  @Field(() => DateTime, { nullable: true })
  startedAt?: Date | null;

  @Field(() => DateTime, { nullable: true })
  finishedAt?: Date | null;

  @Field(() => Int, { nullable: true, description: "How many jobs run before this one (0: next); set only while QUEUED." })
  queuePosition?: number | null;

  @Field(() => GenerateImagesPayload, { nullable: true, description: "Set when SUCCEEDED: the same payload `generateImages` answers." })
  result?: GenerateImagesPayload | null;

  @Field(() => GenerationJobError, { nullable: true, description: "Set when FAILED or CANCELLED." })
  error?: GenerationJobError | null;
}
