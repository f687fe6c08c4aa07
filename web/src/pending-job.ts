/**
 * The job this page submitted and has not seen finish, kept in localStorage: after a reload (or a closed
 * tab) the page picks it up again and shows how it ends, rather than losing a generation that is paid for.
 */
export interface PendingJob {
  id: string;
  /** ISO 8601, when it was submitted. */
  at: string;
  model: string;
  /** The model's name as the form showed it. */
  modelName: string;
  prompt: string;
  /** The uploads' names, to put the gateway's errors in the form's words. */
  fileNames: string[];
  tokenSent: boolean;
}

const STORAGE_KEY = "siliconflow-gateway.pending-job.v1";

function isPending(value: unknown): value is PendingJob {
  if (typeof value !== "object" || value === null) return false;
  const job = value as Partial<PendingJob>;
  return (
    typeof job.id === "string" &&
    typeof job.at === "string" &&
    typeof job.model === "string" &&
    typeof job.modelName === "string" &&
    typeof job.prompt === "string" &&
    Array.isArray(job.fileNames) &&
    job.fileNames.every((name) => typeof name === "string") &&
    typeof job.tokenSent === "boolean"
  );
}

export class PendingJobStore {
  constructor(private readonly storage: Storage | null) {}

  read(): PendingJob | undefined {
    try {
      const parsed: unknown = JSON.parse(this.storage?.getItem(STORAGE_KEY) ?? "null");
      // What another version of the page (or a hand edit) left that does not fit is dropped, not trusted.
      return isPending(parsed) ? parsed : undefined;
    } catch {
      return undefined;
    }
  }

  write(job: PendingJob): void {
    try {
      this.storage?.setItem(STORAGE_KEY, JSON.stringify(job));
    } catch {
      // Storage full or blocked: the job is still followed for this page's life.
    }
  }

  clear(): void {
    try {
      this.storage?.removeItem(STORAGE_KEY);
    } catch {
      // As above.
    }
  }
}
