import type { JobView } from "./job.js";

/** Tells a job's submitter that it finished, at the URL given with `submitGeneration(webhookUrl:)`. */
export interface JobNotifier {
  /** Throws a GatewayError (BAD_USER_INPUT, field `webhookUrl`) when the URL may not be called; at submission. */
  check(url: string): Promise<void>;
  /** The job reached a final state. Delivery, its retries and its log are the notifier's own; this never throws. */
  finished(url: string, job: JobView): void;
}
