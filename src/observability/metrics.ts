import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { CallTrace } from "../call-log/call-trace.js";

const PREFIX = "siliconflow_gateway_";
const RATE_LIMIT_CODES = new Set(["RATE_LIMITED", "UPSTREAM_RATE_LIMITED"]);

/** Prometheus metrics, fed from the call traces: every finished call passes through `observeCall` once. */
export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly generations: Counter<"model" | "status">;
  private readonly callDuration: Histogram<"status">;
  private readonly upstreamDuration: Histogram<"model">;
  private readonly inFlight: Gauge;
  private readonly uploadBytes: Counter;
  private readonly outputImages: Counter<"model">;
  private readonly cacheHits: Counter<"model">;
  private readonly rateLimited: Counter<"code">;
  private readonly jobs: Counter<"status">;
  private readonly jobQueueWait: Histogram;
  private readonly webhookAttempts: Counter<"outcome">;
  private jobDepth: (() => Promise<{ waiting: number; active: number }>) | undefined;

  constructor({ defaultMetrics = true }: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (defaultMetrics) collectDefaultMetrics({ register: this.registry });
    this.generations = new Counter({ name: `${PREFIX}generations_total`, help: "generateImages calls by model and status", labelNames: ["model", "status"], registers });
    this.callDuration = new Histogram({
      name: `${PREFIX}call_duration_seconds`,
      help: "Wall time of a call through the gateway, request arrival to response",
      labelNames: ["status"],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 180],
      registers,
    });
    this.upstreamDuration = new Histogram({
      name: `${PREFIX}upstream_duration_seconds`,
      help: "Time SiliconFlow took to answer a generation, retries included",
      labelNames: ["model"],
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 180],
      registers,
    });
    this.inFlight = new Gauge({ name: `${PREFIX}calls_in_flight`, help: "generateImages calls being served now", registers });
    this.uploadBytes = new Counter({ name: `${PREFIX}upload_bytes_total`, help: "Bytes of input images received", registers });
    this.outputImages = new Counter({ name: `${PREFIX}output_images_total`, help: "Output images returned", labelNames: ["model"], registers });
    this.cacheHits = new Counter({ name: `${PREFIX}cache_hits_total`, help: "Calls answered from the result cache (not billed)", labelNames: ["model"], registers });
    this.rateLimited = new Counter({ name: `${PREFIX}rate_limited_total`, help: "Calls refused by a rate limit, the gateway's or SiliconFlow's", labelNames: ["code"], registers });
    this.jobs = new Counter({ name: `${PREFIX}jobs_total`, help: "Generation jobs entering each state (QUEUED at submission, RUNNING, and the final ones), on this replica", labelNames: ["status"], registers });
    this.jobQueueWait = new Histogram({
      name: `${PREFIX}job_queue_wait_seconds`,
      help: "Time a generation job waited from its submission until a worker of this replica took it",
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
      registers,
    });
    this.webhookAttempts = new Counter({
      name: `${PREFIX}webhook_attempts_total`,
      help: "Webhook deliveries tried by this replica, by outcome: delivered, retried (failed, another attempt follows), given_up (failed, the last attempt), refused (an address not allowed)",
      labelNames: ["outcome"],
      registers,
    });
    const depthOf = () => this.jobDepth?.();
    new Gauge({
      name: `${PREFIX}job_queue_depth`,
      help: "Generation jobs waiting for a worker and being run, in the whole queue (all replicas with Redis)",
      labelNames: ["state"],
      registers,
      async collect() {
        const depth = await depthOf()?.catch(() => undefined);
        if (!depth) {
          // Unreadable now (Redis down): no value rather than the last one, which would look current.
          this.reset();
          return;
        }
        this.set({ state: "waiting" }, depth.waiting);
        this.set({ state: "active" }, depth.active);
      },
    });
  }

  /** Where the queue depth is read from, at each scrape. */
  watchJobQueue(depth: () => Promise<{ waiting: number; active: number }>): void {
    this.jobDepth = depth;
  }

  jobState(status: string): void {
    this.jobs.inc({ status });
  }

  webhookAttempt(outcome: "delivered" | "retried" | "given_up" | "refused"): void {
    this.webhookAttempts.inc({ outcome });
  }

  jobStarted(waitedMs: number): void {
    this.jobQueueWait.observe(Math.max(0, waitedMs) / 1000);
  }

  callStarted(): () => void {
    this.inFlight.inc();
    let done = false;
    return () => {
      if (!done) this.inFlight.dec();
      done = true;
    };
  }

  observeCall(trace: CallTrace, totalMs: number): void {
    const model = trace.params?.model ?? "unknown";
    const status = trace.status === "success" ? "success" : "failed";
    this.generations.inc({ model, status });
    this.callDuration.observe({ status }, totalMs / 1000);
    if (trace.upstream.upstreamMs !== undefined) this.upstreamDuration.observe({ model }, trace.upstream.upstreamMs / 1000);
    const uploaded = trace.inputs.reduce((sum, image) => sum + (image.sourceBytes ?? image.bytes), 0);
    if (uploaded > 0) this.uploadBytes.inc(uploaded);
    if (trace.outputs.length > 0) this.outputImages.inc({ model }, trace.outputs.length);
    if (trace.cacheHit) this.cacheHits.inc({ model });
    if (trace.error && RATE_LIMIT_CODES.has(trace.error.code)) this.rateLimited.inc({ code: trace.error.code });
  }
}
