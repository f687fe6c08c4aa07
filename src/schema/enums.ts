import { registerEnumType } from "type-graphql";
import { Provider } from "../call-log/call-trace.js";
import { HealthStatus } from "../upstream/health.service.js";
import { GuidanceParameter, ModelKind } from "../models/model-capabilities.js";
import { ModelSource } from "../models/model-registry.js";
import { JobStatus } from "../jobs/job.js";

// The domain's own const objects, registered as the schema's enums: one definition of each value set, and
// resolvers hand domain values through without mapping them.
registerEnumType(ModelKind, { name: "ModelKind" });
registerEnumType(GuidanceParameter, {
  name: "GuidanceParameter",
  description: "Which guidance input a model takes: `guidanceScale`, `cfg`, or neither.",
});
registerEnumType(ModelSource, {
  name: "ModelSource",
  description: "Where the gateway learnt of the model: built in, the configuration file, or only SiliconFlow's model list.",
});
registerEnumType(Provider, {
  name: "Provider",
  description: "Who generated the images: SiliconFlow, or the built-in simulator when no API key is configured.",
});
registerEnumType(HealthStatus, {
  name: "HealthStatus",
  description: "OK: generations can run. DEGRADED: SiliconFlow answers, but with errors. DOWN: it cannot be reached or refuses the key, or the gateway is stopping.",
});

registerEnumType(JobStatus, {
  name: "GenerationJobStatus",
  description: "QUEUED until a worker takes the job, RUNNING while it runs; SUCCEEDED, FAILED and CANCELLED are final.",
});

export { GuidanceParameter, HealthStatus, JobStatus, ModelKind, ModelSource, Provider };
