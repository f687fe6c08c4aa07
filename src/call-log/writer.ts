/**
 * The call-log writer: one JSON line per call in `<dir>/image_generation.log`.
 *
 * Durability: pino formats the line and a LineFile appends it with one synchronous `write(2)`, so
 * it is in the kernel before `write()` returns. A SIGKILL right after cannot lose it (the page cache
 * belongs to the kernel, not the process); only a power loss can, unless `fsync: true`. One line per
 * system call, from a single-threaded process, is what keeps lines whole under any concurrency of calls.
 *
 * When the disk refuses a line (full, read-only, gone), nothing torn stays in the file: the line is
 * kept in a bounded backlog, `available` turns false (the gateway then starts no new paid call), the
 * reason is reported once, and the backlog is retried every `retryMs` and before each new line. Once
 * it is all written, in order, `available` is true again. A line that does not fit the backlog, and
 * whatever is still in it at close, is handed to `onUnwritten` (the application log): nothing is lost
 * silently, and close never waits for space to come back.
 *
 * Rotation: the current file always keeps its name (tools tail it). When a line would push it past
 * `maxBytes`, or the first line of a new UTC hour/day arrives, the file is renamed to
 * `image_generation.log.<UTC time of rotation, colons as dashes>` (e.g.
 * `image_generation.log.2026-11-26T03-15-00.123Z`, `.gz` added once compressed; stamps strictly
 * increase, so names sort by age) and the file reopens the name. It happens
 * inside the write of a line, before the line: no line is split or lost. Compression (`.gz`) and
 * retention run afterwards, off the hot path, one task at a time. pino-roll was not used: it writes
 * to numbered files (`file.1`, `file.2`…), so the current file does not keep the name.
 */
import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import pino from "pino";
import type { CallLogRecord } from "./record.js";
import { LineFile, repairLastLine } from "./line-file.js";

export type CallLogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";

export interface RotationOptions {
  /** Rotate before a line that would make the current file larger than this. */
  maxBytes?: number;
  /** Rotate at the first line written in a new UTC hour or day. */
  interval?: "hourly" | "daily" | null;
  /** How many rotated files to keep (the current file not counted); the oldest go first. */
  retain: number;
  /** Gzip rotated files (`<name>.gz`), in the background. */
  gzip: boolean;
}

export interface CallLogWriterOptions {
  dir: string;
  /** Default `image_generation.log`. A plain name, no folder. */
  fileName?: string;
  /** Default `info`: success lines are `info`, failures `warn` (`error` for INTERNAL_SERVER_ERROR). */
  level?: CallLogLevel;
  rotation?: RotationOptions;
  /** fsync after every line: survives a power loss too, at the cost measured in docs. Default false. */
  fsync?: boolean;
  /** Decides time rotation and names rotated files. Default `() => new Date()`. */
  clock?: () => Date;
  /**
   * Errors that happen off the write path (compressing or deleting rotated files, a failed
   * rotation). Default: `process.emitWarning`. Errors of `write` itself are thrown to its caller.
   */
  onError?: (error: Error) => void;
  /** How often the backlog is retried while the file cannot be written. Default 1000 ms. */
  retryMs?: number;
  /** Bounds of the lines kept while the file cannot be written. Default 10 000 lines, 16 MiB. */
  backlog?: { maxLines: number; maxBytes: number };
  /** The file stopped taking lines; called once until it takes them again. Default: `onError`. */
  onUnavailable?: (error: Error) => void;
  /** The file takes lines again; `written` lines from the backlog went in. */
  onAvailable?: (written: number) => void;
  /** A line that will not reach the file (backlog full, or closed with the disk still refusing). Default: stderr. */
  onUnwritten?: (line: string) => void;
}

export interface CallLogWriter {
  /**
   * Appends the record as one line; it is in the kernel (and, with `fsync`, on the disk) when this
   * returns, unless the file cannot be written (`available` false), in which case it waits in the
   * backlog. Throws only once closed.
   */
  write(record: CallLogRecord): void;
  /** False while lines cannot be written and wait in the backlog. */
  readonly available: boolean;
  /** Why lines cannot be written (the OS's reason, no path), while `available` is false. */
  readonly unavailableReason: string | undefined;
  /** Forces written lines to stable storage (fsync). */
  flush(): void;
  /**
   * Tries the backlog once more, hands what is still unwritten to `onUnwritten`, closes the file and
   * waits for any compression or clean-up in progress. Never waits for disk space.
   */
  close(): Promise<void>;
  /** Absolute path of the current file. */
  readonly path: string;
}

export const DEFAULT_CALL_LOG_FILE = "image_generation.log";
const DIR_MODE = 0o700;
const FILE_MODE = 0o600;
const HOUR_MS = 3_600_000;
const DEFAULT_BACKLOG = { maxLines: 10_000, maxBytes: 16 * 1024 * 1024 };
const DAY_MS = 86_400_000;

/** The level a record is logged at; below the configured level it is not written. */
export function callLogLevel(record: CallLogRecord): "info" | "warn" | "error" {
  if (record.status === "success") return "info";
  return record.error_code === "INTERNAL_SERVER_ERROR" ? "error" : "warn";
}

export function openCallLog(options: CallLogWriterOptions): CallLogWriter {
  const dir = path.resolve(options.dir);
  const fileName = options.fileName ?? DEFAULT_CALL_LOG_FILE;
  if (fileName === "" || fileName !== path.basename(fileName) || fileName === "." || fileName === "..") {
    throw new Error(`call log file name "${fileName}" must be a plain file name, without a folder`);
  }
  const rotation = validateRotation(options.rotation);
  const clock = options.clock ?? (() => new Date());
  const onError = options.onError ?? ((error: Error) => process.emitWarning(error));
  const filePath = path.join(dir, fileName);

  ensureFolder(dir);
  const rotated = new RotatedFiles(dir, fileName);

  const repair = repairLastLine(filePath);
  const file = openFile(filePath, options.fsync ?? false);
  if (repair?.kind === "cut") {
    onError(new Error(`call log "${filePath}" ended in a partial last line of ${repair.bytes} bytes (a crash or a full disk mid-line); it was cut off so every line is whole`));
  } else if (repair?.kind === "newline" && !repair.written) {
    file.markTorn();
  }

  const onUnavailable = options.onUnavailable ?? onError;
  const onAvailable = options.onAvailable ?? (() => undefined);
  const onUnwritten = options.onUnwritten ?? ((line: string) => process.stderr.write(`call log line not written: ${line}`));
  const retryMs = options.retryMs ?? 1000;
  const bounds = options.backlog ?? DEFAULT_BACKLOG;

  const initial = fs.statSync(filePath);
  let currentBytes = initial.size;
  // A file left from an earlier run belongs to the period of its last line: on a restart the next
  // day, its lines go to a rotated file rather than mixing with today's.
  let currentPeriod = rotation.periodMs === null ? 0 : periodOf(initial.size > 0 ? initial.mtime : clock(), rotation.periodMs);

  let background: Promise<void> = Promise.resolve();
  const enqueue = (task: () => Promise<void>): void => {
    background = background.then(task).catch((error: unknown) => onError(asError(error)));
  };
  enqueue(() => rotated.recover(rotation));

  function rotateIfDue(lineBytes: number): void {
    let due = false;
    if (rotation.periodMs !== null) {
      const period = periodOf(clock(), rotation.periodMs);
      if (period !== currentPeriod) {
        currentPeriod = period;
        due = currentBytes > 0;
      }
    }
    if (rotation.maxBytes !== null && currentBytes > 0 && currentBytes + lineBytes > rotation.maxBytes) due = true;
    if (!due) return;

    const target = rotated.nextName(clock());
    try {
      fs.renameSync(filePath, target);
    } catch (error) {
      // Keep writing to the current file rather than lose the line; try again at the next line.
      onError(new Error(`call log rotation of "${filePath}" failed: ${describeFsError(error)}`, { cause: error }));
      return;
    }
    try {
      file.reopen();
    } catch (error) {
      // The descriptor still holds the renamed file: put the name back so tools keep finding it.
      try {
        fs.renameSync(target, filePath);
      } catch {
        // Nothing left to try; the lines are in `target` and the error below says so.
      }
      onError(new Error(`call log could not reopen "${filePath}" after rotation: ${describeFsError(error)}`, { cause: error }));
      return;
    }
    currentBytes = 0;
    enqueue(async () => {
      if (rotation.gzip && rotation.retain > 0) await rotated.compress(target);
      await rotated.prune(rotation.retain);
    });
  }

  // Lines the file refused, oldest first; while any wait here, new lines queue behind them.
  const backlog: string[] = [];
  let backlogBytes = 0;
  let unavailable: Error | undefined;
  let writtenFromBacklog = 0;
  let retry: NodeJS.Timeout | undefined;

  /** One attempt at the file; false (and the reason noted) when it refused. */
  function attempt(line: string, bytes: number): boolean {
    try {
      rotateIfDue(bytes);
      file.append(line);
      currentBytes += bytes;
      return true;
    } catch (error) {
      if (!unavailable) {
        unavailable = new Error(`call log write to "${filePath}" failed: ${describeFsError(error)}`, { cause: error });
        writtenFromBacklog = 0;
        // Unref'd: a retry loop must not keep a stopping process alive.
        retry = setInterval(drainBacklog, retryMs).unref();
        onUnavailable(unavailable);
      }
      return false;
    }
  }

  /** Writes waiting lines in order until the file refuses one; reports recovery when none are left. */
  function drainBacklog(): void {
    while (backlog.length > 0) {
      const line = backlog[0];
      const bytes = Buffer.byteLength(line!);
      if (!attempt(line!, bytes)) return;
      backlog.shift();
      backlogBytes -= bytes;
      writtenFromBacklog++;
    }
    if (unavailable) {
      unavailable = undefined;
      clearInterval(retry);
      retry = undefined;
      onAvailable(writtenFromBacklog);
    }
  }

  function keep(line: string, bytes: number): void {
    if (backlog.length >= bounds.maxLines || backlogBytes + bytes > bounds.maxBytes) {
      onUnwritten(line);
      return;
    }
    backlog.push(line);
    backlogBytes += bytes;
  }

  // pino formats the line; this stream decides rotation knowing the line's size, then writes it whole.
  const stream: pino.DestinationStream = {
    write(line: string): void {
      const bytes = Buffer.byteLength(line);
      if (unavailable) drainBacklog();
      if (unavailable || !attempt(line, bytes)) keep(line, bytes);
    },
  };

  const logger = pino(
    {
      level: options.level ?? "info",
      // The record is the line: no pid/hostname, no `time` next to the contract's `timestamp`.
      base: null,
      timestamp: false,
      // A readable level label, so `grep '"level":"warn"'` works without knowing pino's numbers.
      formatters: { level: (label) => ({ level: label }) },
    },
    stream,
  );

  let closing: Promise<void> | undefined;

  return {
    path: filePath,

    get available(): boolean {
      return unavailable === undefined;
    },

    get unavailableReason(): string | undefined {
      return unavailable ? describeFsError(unavailable.cause) : undefined;
    },

    write(record: CallLogRecord): void {
      if (closing) throw new Error(`call log "${filePath}" is closed; the record of call ${record.call_id} was not written`);
      logger[callLogLevel(record)](record);
    },

    flush(): void {
      if (closing) return;
      try {
        file.flush();
      } catch (error) {
        onError(new Error(`call log "${filePath}" could not be flushed: ${describeFsError(error)}`, { cause: error }));
      }
    },

    close(): Promise<void> {
      closing ??= (async () => {
        clearInterval(retry);
        if (unavailable) drainBacklog();
        clearInterval(retry);
        for (const line of backlog.splice(0)) onUnwritten(line);
        backlogBytes = 0;
        try {
          file.close();
        } catch (error) {
          onError(new Error(`call log "${filePath}" could not be closed: ${describeFsError(error)}`, { cause: error }));
        }
        await background;
      })();
      return closing;
    },
  };
}

function openFile(filePath: string, fsync: boolean): LineFile {
  try {
    const file = new LineFile(filePath, FILE_MODE, fsync);
    // The mode given to open(2) applies only when the file is created; an existing file is narrowed.
    fs.chmodSync(filePath, FILE_MODE);
    return file;
  } catch (error) {
    throw new Error(`call log file "${filePath}" cannot be opened for appending: ${describeFsError(error)}`, { cause: error });
  }
}

interface ResolvedRotation {
  maxBytes: number | null;
  periodMs: number | null;
  retain: number;
  gzip: boolean;
}

function validateRotation(rotation: RotationOptions | undefined): ResolvedRotation {
  if (!rotation) return { maxBytes: null, periodMs: null, retain: 0, gzip: false };
  const { maxBytes, interval, retain, gzip } = rotation;
  if (maxBytes !== undefined && !(Number.isSafeInteger(maxBytes) && maxBytes > 0)) {
    throw new Error(`call log rotation maxBytes must be a positive integer, got ${String(maxBytes)}`);
  }
  if (!(Number.isSafeInteger(retain) && retain >= 0)) {
    throw new Error(`call log rotation retain must be an integer of 0 or more, got ${String(retain)}`);
  }
  return {
    maxBytes: maxBytes ?? null,
    periodMs: interval === "hourly" ? HOUR_MS : interval === "daily" ? DAY_MS : null,
    retain,
    gzip,
  };
}

/** Index of the UTC hour or day `date` falls in (epoch ms are UTC, and hours/days divide them evenly). */
function periodOf(date: Date, periodMs: number): number {
  return Math.floor(date.getTime() / periodMs);
}

function ensureFolder(dir: string): void {
  try {
    const created = fs.mkdirSync(dir, { recursive: true, mode: DIR_MODE });
    // The umask may have narrowed the mode; a folder that already existed keeps the mode it was given.
    if (created !== undefined) fs.chmodSync(dir, DIR_MODE);
    if (!fs.statSync(dir).isDirectory()) throw Object.assign(new Error("not a directory"), { code: "ENOTDIR" });
    fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
  } catch (error) {
    throw new Error(`call log folder "${dir}" cannot be created or written: ${describeFsError(error)}`, { cause: error });
  }
}

const FS_REASONS: Record<string, string> = {
  ENOTDIR: "a part of the path is a file, not a folder",
  EEXIST: "it exists and is not a folder",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "the file system is read-only",
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
  EISDIR: "it is a folder",
  ENOENT: "it does not exist",
};

function describeFsError(error: unknown): string {
  const err = asError(error);
  const code = (err as NodeJS.ErrnoException).code;
  if (code && FS_REASONS[code]) return `${FS_REASONS[code]} (${code})`;
  return err.message;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * The rotated files of one log: naming, compression, retention.
 *
 * A rotated file is `<file>.<UTC time of rotation, colons as dashes>[.gz]`. Stamps strictly
 * increase: a rotation in the same millisecond as the previous one (or after the clock stepped
 * back) is stamped 1 ms after it. So the names alone sort by age, for `ls` and for retention.
 */
class RotatedFiles {
  private readonly pattern: RegExp;
  /** Epoch ms of the newest stamp in use. */
  private lastStamp: number;

  constructor(
    private readonly dir: string,
    private readonly fileName: string,
  ) {
    const escaped = fileName.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    this.pattern = new RegExp(`^${escaped}\\.(\\d{4}-\\d{2}-\\d{2}T\\d{2})-(\\d{2})-(\\d{2}\\.\\d{3}Z)(\\.gz)?$`);
    // Once, at start-up: later names come from this process alone.
    this.lastStamp = Number.NEGATIVE_INFINITY;
    for (const name of fs.readdirSync(dir)) this.lastStamp = Math.max(this.lastStamp, this.stampOf(name) ?? Number.NEGATIVE_INFINITY);
  }

  private stampOf(name: string): number | undefined {
    const match = this.pattern.exec(name);
    return match ? Date.parse(`${match[1]}:${match[2]}:${match[3]}`) : undefined;
  }

  nextName(now: Date): string {
    this.lastStamp = Math.max(now.getTime(), this.lastStamp + 1);
    return path.join(this.dir, `${this.fileName}.${new Date(this.lastStamp).toISOString().replace(/:/g, "-")}`);
  }

  /** Rotated files, oldest first; a file and its `.gz` (both exist only mid-compression) grouped. */
  private async list(): Promise<string[][]> {
    const byStamp = new Map<number, string[]>();
    for (const name of await fsp.readdir(this.dir)) {
      const stamp = this.stampOf(name);
      if (stamp !== undefined) byStamp.set(stamp, [...(byStamp.get(stamp) ?? []), name]);
    }
    return [...byStamp.entries()].sort(([a], [b]) => a - b).map(([, names]) => names);
  }

  /** Gzips `file` to `file.gz` through a temporary name, so a `.gz` is only ever complete. */
  async compress(file: string): Promise<void> {
    const temporary = `${file}.gz.tmp`;
    // Recovery at start may already have compressed it. Checked first: a write stream opened for a
    // source that is gone would create the temporary file after the clean-up below removed it.
    const exists = await fsp.stat(file).then(
      () => true,
      () => false,
    );
    if (!exists) return;
    try {
      await pipeline(fs.createReadStream(file), createGzip(), fs.createWriteStream(temporary, { mode: FILE_MODE }));
      await fsp.rename(temporary, `${file}.gz`);
      await fsp.unlink(file);
    } catch (error) {
      await fsp.rm(temporary, { force: true });
      // Pruned before its turn came: nothing to compress.
      if (errorCode(error) === "ENOENT") return;
      throw error;
    }
  }

  /** Keeps the `retain` newest rotated files. */
  async prune(retain: number): Promise<void> {
    const groups = await this.list();
    for (const group of groups.slice(0, Math.max(0, groups.length - retain))) {
      for (const name of group) await fsp.rm(path.join(this.dir, name), { force: true });
    }
  }

  /** After a crash: drop half-written `.gz.tmp` files, compress what was left uncompressed, prune. */
  async recover(rotation: ResolvedRotation): Promise<void> {
    if (rotation.maxBytes === null && rotation.periodMs === null) return;
    for (const name of await fsp.readdir(this.dir)) {
      if (name.endsWith(".gz.tmp") && this.stampOf(name.slice(0, -".tmp".length)) !== undefined) {
        await fsp.rm(path.join(this.dir, name), { force: true });
      }
    }
    if (rotation.gzip && rotation.retain > 0) {
      for (const group of await this.list()) {
        for (const name of group) if (!name.endsWith(".gz")) await this.compress(path.join(this.dir, name));
      }
    }
    await this.prune(rotation.retain);
  }
}
