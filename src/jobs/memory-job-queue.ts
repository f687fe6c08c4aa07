import type { JobCaps, JobProcessor, JobQueue, JobRecord } from "./job-queue.js";

interface Expiring<T> {
  value: T;
  expiresAt: number;
}

/**
 * The engine without Redis: records, queue and marks in this process. It behaves as the BullMQ engine
 * does, but nothing survives a restart and no other replica sees its jobs.
 */
export class MemoryJobQueue implements JobQueue {
  readonly kind = "memory";
  readonly durable = false;
  private readonly records = new Map<string, Expiring<JobRecord>>();
  private readonly idempotency = new Map<string, Expiring<string>>();
  private readonly sent = new Set<string>();
  /** Jobs not ended yet, by id: their client and when their place lapses. */
  private readonly open = new Map<string, { clientKey: string; expiresAt: number }>();
  private readonly waiting: string[] = [];
  private active = 0;
  private concurrency = 0;
  private process: JobProcessor | undefined;
  private taking = false;
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly now: () => number = Date.now) {
    // Expired records go, as Redis's TTL would drop them.
    this.sweeper = setInterval(() => this.sweep(), 60_000).unref();
  }

  private sweep(): void {
    const now = this.now();
    for (const [id, entry] of this.records) {
      if (entry.expiresAt <= now) {
        this.records.delete(id);
        this.sent.delete(id);
      }
    }
    for (const [scope, entry] of this.idempotency) if (entry.expiresAt <= now) this.idempotency.delete(scope);
    for (const [id, entry] of this.open) if (entry.expiresAt <= now) this.open.delete(id);
  }

  save(record: JobRecord, ttlMs: number): Promise<void> {
    // A copy, as Redis would keep: the caller's later changes are not the stored state.
    this.records.set(record.view.id, { value: structuredClone(record), expiresAt: this.now() + ttlMs });
    return Promise.resolve();
  }

  read(id: string): Promise<JobRecord | null> {
    const entry = this.records.get(id);
    if (!entry || entry.expiresAt <= this.now()) return Promise.resolve(null);
    return Promise.resolve(structuredClone(entry.value));
  }

  findIdempotent(scope: string): Promise<string | undefined> {
    const entry = this.idempotency.get(scope);
    return Promise.resolve(entry && entry.expiresAt > this.now() ? entry.value : undefined);
  }

  async claimIdempotent(scope: string, id: string, ttlMs: number): Promise<string> {
    const holder = await this.findIdempotent(scope);
    if (holder) return holder;
    this.idempotency.set(scope, { value: id, expiresAt: this.now() + ttlMs });
    return id;
  }

  admit(id: string, clientKey: string, caps: JobCaps, ttlMs: number): Promise<"admitted" | "client" | "total"> {
    const now = this.now();
    let total = 0;
    let client = 0;
    for (const entry of this.open.values()) {
      if (entry.expiresAt <= now) continue;
      total += 1;
      if (entry.clientKey === clientKey) client += 1;
    }
    if (client >= caps.perClient) return Promise.resolve("client");
    if (total >= caps.total) return Promise.resolve("total");
    this.open.set(id, { clientKey, expiresAt: now + ttlMs });
    return Promise.resolve("admitted");
  }

  release(id: string): Promise<void> {
    this.open.delete(id);
    return Promise.resolve();
  }

  enqueue(id: string): Promise<void> {
    this.waiting.push(id);
    this.pump();
    return Promise.resolve();
  }

  withdraw(id: string): Promise<boolean> {
    const index = this.waiting.indexOf(id);
    if (index < 0) return Promise.resolve(false);
    this.waiting.splice(index, 1);
    return Promise.resolve(true);
  }

  position(id: string): Promise<number | null> {
    const index = this.waiting.indexOf(id);
    return Promise.resolve(index < 0 ? null : index);
  }

  depth(): Promise<{ waiting: number; active: number }> {
    return Promise.resolve({ waiting: this.waiting.length, active: this.active });
  }

  markSent(id: string): Promise<boolean> {
    if (this.sent.has(id)) return Promise.resolve(false);
    this.sent.add(id);
    return Promise.resolve(true);
  }

  wasSent(id: string): Promise<boolean> {
    return Promise.resolve(this.sent.has(id));
  }

  work(concurrency: number, process: JobProcessor): void {
    this.concurrency = concurrency;
    this.process = process;
    this.taking = true;
    this.pump();
  }

  private pump(): void {
    const process = this.process;
    if (!process) return;
    while (this.taking && this.active < this.concurrency && this.waiting.length > 0) {
      const id = this.waiting.shift()!;
      this.active += 1;
      void process(id)
        .catch(() => "done" as const)
        .then((outcome) => {
          this.active -= 1;
          // Handed back (a shutdown cut it before it was sent): first in line again.
          if (outcome === "requeue") this.waiting.unshift(id);
          this.pump();
        });
    }
  }

  stopTaking(): Promise<void> {
    this.taking = false;
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.taking = false;
    clearInterval(this.sweeper);
    return Promise.resolve();
  }
}
