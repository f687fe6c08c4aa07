import { randomUUID } from "node:crypto";
import { asGatewayError } from "../errors.js";
import { maskApiKey } from "../observability/mask.js";
import { Api, finishCall, newCallTrace, type CallFailure, type CallTrace, type Provider } from "./call-trace.js";

/**
 * The key a call ran with when it was the caller's own (`X-SiliconFlow-Api-Key`), so that its line masks
 * it wherever it appears, as the gateway's own key is. Kept beside the record, never in it: a record is
 * stored in the result cache, and the key must not be.
 */
const callerKeys = new WeakMap<CallTrace, string>();

/** The secrets this call's line masks beyond the gateway's own: the caller's key, if it brought one. */
export function callSecrets(trace: CallTrace): readonly string[] {
  const key = callerKeys.get(trace);
  return key === undefined ? [] : [key];
}

/**
 * The calls of one request, from the moment each opens to the line it gets. Every way a call can end goes
 * through here: run to an outcome or a GatewayError, refused before it ran (by Apollo or by the HTTP layer
 * before Apollo), or cut when the response left without it. The recorder writes what the book holds.
 */
export class CallBook {
  readonly traces: CallTrace[] = [];

  constructor(
    private readonly provider: Provider,
    private readonly apiKey: string | undefined,
    private readonly now: () => number = Date.now,
    /** Told of each call as it opens, so that calls under way are known beyond their request. */
    private readonly onOpen?: (trace: CallTrace) => void,
    private readonly api: Api = Api.GRAPHQL,
  ) {}

  private open(responseKey: string | undefined, apiKey: string | undefined): CallTrace {
    const trace = newCallTrace({ callId: randomUUID(), startedAt: this.now(), apiKeyMasked: maskApiKey(apiKey), provider: this.provider, api: this.api });
    trace.responseKey = responseKey;
    this.traces.push(trace);
    this.onOpen?.(trace);
    return trace;
  }

  /**
   * Opens a call and runs it: `work` fills the record with facts and returns the outcome or throws. The
   * call ends success or failed by what `work` did; a GatewayError gives its code and message.
   */
  async run<T>(responseKey: string | undefined, apiKey: string | undefined, work: (trace: CallTrace) => Promise<T>): Promise<{ trace: CallTrace; outcome: T }> {
    const trace = this.open(responseKey, apiKey ?? this.apiKey);
    if (apiKey !== undefined && apiKey !== this.apiKey) callerKeys.set(trace, apiKey);
    try {
      const outcome = await work(trace);
      finishCall(trace);
      return { trace, outcome };
    } catch (error) {
      finishCall(trace, failureOf(error));
      throw error;
    }
  }

  /**
   * A call whose line is written elsewhere if it goes ahead (a generation job's, by the worker that runs
   * it, when it ends): `work` fills a record of its own; only when it throws does the call join this book,
   * failed, so that a refusal at submission gets its line as any other refusal does.
   */
  async submit<T>(responseKey: string | undefined, apiKey: string | undefined, work: (trace: CallTrace) => Promise<T>): Promise<T> {
    const trace = newCallTrace({ callId: randomUUID(), startedAt: this.now(), apiKeyMasked: maskApiKey(apiKey ?? this.apiKey), provider: this.provider, api: this.api });
    trace.responseKey = responseKey;
    try {
      return await work(trace);
    } catch (error) {
      finishCall(trace, failureOf(error));
      this.traces.push(trace);
      throw error;
    }
  }

  /** A call refused before it could run: it is opened and ended at once, failed. */
  refuse(responseKey: string | undefined, failure: CallFailure): CallTrace {
    const trace = this.open(responseKey, this.apiKey);
    finishCall(trace, failure);
    return trace;
  }
}

/** What a thrown error says of the call: a GatewayError's own code, anything else the gateway's fault. */
function failureOf(thrown: unknown): CallFailure {
  const error = asGatewayError(thrown);
  return { code: error.code, message: error.message, cause: error.cause };
}
