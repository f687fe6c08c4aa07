import { ErrorCode, GatewayError } from "../errors.js";

export const HealthStatus = { OK: "OK", DEGRADED: "DEGRADED", DOWN: "DOWN" } as const;
export type HealthStatus = (typeof HealthStatus)[keyof typeof HealthStatus];

/** One probe of SiliconFlow and what it says; the `health` query shows it as `UpstreamHealth`. */
export interface UpstreamProbe {
  reachable: boolean;
  /** Round trip of the probe; null when it got no answer. */
  latencyMs: number | null;
  checkedAt: number;
  /** What went wrong, in words safe to show (no key, no path). */
  error: string | null;
  state: HealthStatus;
}

export interface HealthServiceOptions {
  /** A free request to SiliconFlow (its model list), never a paid generation. */
  probe: () => Promise<void>;
  /** How long one probe's answer serves `health` queries. */
  cacheMs: number;
  now?: () => number;
  monotonicMs?: () => number;
}

/** What a failed probe says about the gateway's ability to generate. */
function stateOf(error: unknown): { reachable: boolean; state: HealthStatus } {
  if (error instanceof GatewayError) {
    switch (error.code) {
      case ErrorCode.UPSTREAM_UNAUTHORIZED:
        // Reachable, but every generation would be refused.
        return { reachable: true, state: "DOWN" };
      case ErrorCode.UPSTREAM_RATE_LIMITED:
      case ErrorCode.UPSTREAM_BAD_REQUEST:
        return { reachable: true, state: "DEGRADED" };
      case ErrorCode.UPSTREAM_UNAVAILABLE:
        if (error.upstream?.kind !== "answered") return { reachable: false, state: "DOWN" };
        // A 404 is a wrong SILICONFLOW_BASE_URL: reachable, but no generation can succeed.
        return { reachable: true, state: error.upstream.status === 404 ? "DOWN" : "DEGRADED" };
      case ErrorCode.UPSTREAM_TIMEOUT:
        return { reachable: false, state: "DOWN" };
      default:
        break;
    }
  }
  return { reachable: false, state: "DOWN" };
}

/**
 * Upstream health from a cached probe: many `health` queries (load balancers poll) cost one
 * upstream request per `cacheMs`, and concurrent askers share the probe in flight.
 */
export class HealthService {
  private last: UpstreamProbe | null = null;
  private inFlight: Promise<UpstreamProbe> | null = null;
  private readonly now: () => number;
  private readonly monotonicMs: () => number;

  constructor(private readonly options: HealthServiceOptions) {
    this.now = options.now ?? Date.now;
    this.monotonicMs = options.monotonicMs ?? (() => performance.now());
  }

  async upstream(): Promise<UpstreamProbe> {
    return this.fresh() ?? this.check();
  }

  /** The last probe while it is fresh, else null: lets a caller answer without waiting on a promise. */
  fresh(): UpstreamProbe | null {
    return this.last && this.now() - this.last.checkedAt < this.options.cacheMs ? this.last : null;
  }

  /** Probes now (sharing a probe already under way). */
  check(): Promise<UpstreamProbe> {
    this.inFlight ??= this.runProbe().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  private async runProbe(): Promise<UpstreamProbe> {
    const started = this.monotonicMs();
    let result: UpstreamProbe;
    try {
      await this.options.probe();
      result = { reachable: true, latencyMs: this.monotonicMs() - started, checkedAt: this.now(), error: null, state: "OK" };
    } catch (error) {
      const { reachable, state } = stateOf(error);
      result = {
        reachable,
        latencyMs: reachable ? this.monotonicMs() - started : null,
        checkedAt: this.now(),
        error: error instanceof GatewayError ? error.message : "the probe failed",
        state,
      };
    }
    this.last = result;
    return result;
  }
}
