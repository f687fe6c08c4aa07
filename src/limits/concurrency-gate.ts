import { ErrorCode, GatewayError } from "../errors.js";

export interface ConcurrencyGateOptions {
  /** Calls allowed to run at once. */
  max: number;
  /** Calls allowed to wait; one more is refused at once. */
  maxQueue: number;
  /** How long a call may wait before it is refused. */
  queueTimeoutMs: number;
}

interface Waiter {
  start: () => void;
  timer: NodeJS.Timeout;
}

/**
 * Bounds the SiliconFlow calls in flight. Waiting is bounded in count and time, so a burst past the
 * account's capacity gets a clear RATE_LIMITED instead of piling up memory and timeouts.
 */
export class ConcurrencyGate {
  private active = 0;
  private readonly queue: Waiter[] = [];
  private readonly patient: Array<() => void> = [];

  constructor(private readonly options: ConcurrencyGateOptions) {}

  get inFlight(): number {
    return this.active;
  }

  get waiting(): number {
    return this.queue.length + this.patient.length;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await work();
    } finally {
      this.release();
    }
  }

  /**
   * Like `run`, but waits for a slot however long it takes, outside `maxQueue` and `queueTimeoutMs`: for
   * queued jobs, whose clients hold no connection. Patient waiters go after the impatient ones, which
   * would otherwise time out. `signal` ends the wait with its reason.
   */
  async runPatiently<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.acquirePatiently(signal);
    try {
      return await work();
    } finally {
      this.release();
    }
  }

  private acquirePatiently(signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted();
    if (this.active < this.options.max) {
      this.active += 1;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        const index = this.patient.indexOf(start);
        if (index >= 0) this.patient.splice(index, 1);
        reject(signal?.reason instanceof Error ? signal.reason : new Error("the wait for a slot was aborted"));
      };
      const start = (): void => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.patient.push(start);
    });
  }

  private refusal(reason: string): GatewayError {
    return new GatewayError(ErrorCode.RATE_LIMITED, `The gateway is at capacity (${reason}); try again shortly`, {
      retryAfterSeconds: Math.max(1, Math.ceil(this.options.queueTimeoutMs / 1000 / 4)),
    });
  }

  private acquire(): Promise<void> {
    if (this.active < this.options.max) {
      this.active += 1;
      return Promise.resolve();
    }
    if (this.queue.length >= this.options.maxQueue) {
      return Promise.reject(this.refusal(`${this.options.max} calls running, ${this.options.maxQueue} waiting`));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        start: () => {
          clearTimeout(waiter.timer);
          resolve();
        },
        timer: setTimeout(() => {
          const index = this.queue.indexOf(waiter);
          if (index >= 0) this.queue.splice(index, 1);
          reject(this.refusal(`waited ${this.options.queueTimeoutMs} ms for a slot`));
        }, this.options.queueTimeoutMs),
      };
      this.queue.push(waiter);
    });
  }

  private release(): void {
    // The slot passes straight to the next waiter: `active` stays the same.
    const next = this.queue.shift();
    if (next) return next.start();
    const patient = this.patient.shift();
    if (patient) return patient();
    this.active -= 1;
  }
}
