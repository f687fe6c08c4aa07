import { z } from "zod";

export type Fault =
  /** Reply with that status and raw body (default: SiliconFlow's usual body for that status). */
  | { kind: "status"; status: number; body?: string; headers?: Record<string, string> }
  /** 200 with a body that cannot be parsed (truncated JSON, or a truncated PNG for downloads). */
  | { kind: "malformed" }
  /** Accept the request and never answer, until the client gives up or the simulator closes. */
  | { kind: "hang" }
  /** Drop the connection without answering. */
  | { kind: "reset" }
  /** Answer normally after an extra delay. */
  | { kind: "latency"; ms: number }
  | AnswerFault;

/**
 * A generation answered with real images but output URLs no honest service would send: what a gateway
 * must not trust its upstream with. Generation requests only.
 */
export type AnswerFault =
  /** `count` output URLs whatever batch_size asked for, each a real stored image (the painted ones repeated). */
  | { kind: "extra-outputs"; count: number }
  /** These output URLs instead of the simulator's own: other schemes, metadata endpoints, private hosts. */
  | { kind: "output-urls"; urls: string[] }
  /** The simulator's own output URLs with this host instead of its address (same port, path and signature). */
  | { kind: "output-host"; host: string };

export function isAnswerFault(fault: Fault | undefined): fault is AnswerFault {
  return fault?.kind === "extra-outputs" || fault?.kind === "output-urls" || fault?.kind === "output-host";
}

export type FaultTarget = "generation" | "download" | "models";

export interface FaultRule {
  fault: Fault;
  /** Which requests the rule applies to; default "generation". */
  target?: FaultTarget;
  /** Apply to the next N matching requests; default: until cleared. */
  times?: number;
}

/** Checks a rule before it is armed, whether it came from a test or over HTTP (`POST /__simulator/faults`). */
export const faultRuleSchema = z
  .object({
    fault: z.discriminatedUnion("kind", [
      z.object({
        kind: z.literal("status"),
        // 1xx and 204/304 cannot carry the body a status fault is about.
        status: z.number().int().min(200).max(599),
        body: z.string().optional(),
        headers: z.record(z.string(), z.string()).optional(),
      }),
      z.object({ kind: z.literal("malformed") }),
      z.object({ kind: z.literal("hang") }),
      z.object({ kind: z.literal("reset") }),
      z.object({ kind: z.literal("latency"), ms: z.number().int().min(0).max(600_000) }),
      z.object({ kind: z.literal("extra-outputs"), count: z.number().int().min(1).max(10_000) }),
      z.object({ kind: z.literal("output-urls"), urls: z.array(z.string().max(8192)).min(1).max(10_000) }),
      z.object({ kind: z.literal("output-host"), host: z.string().min(1).max(253) }),
    ]),
    target: z.enum(["generation", "download", "models"]).optional(),
    times: z.number().int().min(1).optional(),
  })
  .refine((rule) => !isAnswerFault(rule.fault) || (rule.target ?? "generation") === "generation", {
    message: "a fault on the output URLs applies to generations only",
    path: ["target"],
  });

interface ActiveRule {
  fault: Fault;
  target: FaultTarget;
  /** Infinity when the rule lasts until cleared. */
  remaining: number;
}

/** The active fault rules, consulted once per request; the oldest matching rule wins. */
export class FaultBook {
  private rules: ActiveRule[] = [];

  /** Throws a ZodError naming the bad field when the rule is not well formed. */
  add(rule: FaultRule): void {
    const checked = faultRuleSchema.parse(rule);
    this.rules.push({
      fault: checked.fault,
      target: checked.target ?? "generation",
      remaining: checked.times ?? Infinity,
    });
  }

  clear(): void {
    this.rules = [];
  }

  /** The fault for this request, if any; uses up one of the rule's `times`. */
  take(target: FaultTarget): Fault | undefined {
    const index = this.rules.findIndex((rule) => rule.target === target);
    if (index < 0) return undefined;
    const rule = this.rules[index];
    rule!.remaining -= 1;
    if (rule!.remaining <= 0) this.rules.splice(index, 1);
    return rule!.fault;
  }

  describe(): { target: FaultTarget; fault: Fault; remaining: number | null }[] {
    return this.rules.map((rule) => ({
      target: rule.target,
      fault: rule.fault,
      remaining: Number.isFinite(rule.remaining) ? rule.remaining : null,
    }));
  }
}
