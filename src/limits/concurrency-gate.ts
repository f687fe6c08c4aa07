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

  constructor(private readonly options: ConcurrencyGateOptions) {}

  get inFlight(): number {
    return this.active;
  }

  get waiting(): number {
    return this.queue.length;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await work();
    } finally {
      this.release();
    }
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
    const next = this.queue.shift();
    // The slot passes straight to the next waiter: `active` stays the same.
    if (next) next.start();
    else this.active -= 1;
  }
}
