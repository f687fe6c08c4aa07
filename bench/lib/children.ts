import { spawn, type ChildProcess } from "node:child_process";
import { openSync, closeSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer, type AddressInfo } from "node:net";
import { setTimeout as delay } from "node:timers/promises";

/** A server the bench started in its own process, so its CPU and memory are its own. */
export interface ChildServer {
  name: string;
  /** The base URL its listening line announced, e.g. `http://127.0.0.1:41234`. */
  url: string;
  pid: number;
  logFile: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

export interface SpawnOptions {
  name: string;
  script: string;
  env: Record<string, string>;
  cwd: string;
  /** Where stdout and stderr go: a file, so the bench spends no CPU reading the server's log. */
  logFile: string;
  /** The first capture group is the URL handed back. */
  listening: RegExp;
  /**
   * Also ready when this base URL answers `GET <readyPath>` with 200: for a server told its port, whose
   * listening line may be below the log level.
   */
  probe?: { baseUrl: string; readyPath: string };
  nodeArgs?: readonly string[];
  timeoutMs?: number;
}

const running = new Set<ChildProcess>();

/** Children left behind by an error in the bench must not outlive it. */
export function killAllChildren(): void {
  for (const child of running) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
}

/** A child the bench started by other means (redis-server), killed with the rest. */
export function adopt(child: ChildProcess): void {
  running.add(child);
  child.once("exit", () => running.delete(child));
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "(no output)";
  }
}

export async function spawnServer(options: SpawnOptions): Promise<ChildServer> {
  const fd = openSync(options.logFile, "a");
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), options.script], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? "", ...options.env },
    stdio: ["ignore", fd, fd],
  });
  // The child holds its own copy of the descriptor.
  closeSync(fd);
  running.add(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on("exit", (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
  });
  let gone = false;
  void exited.then(() => {
    gone = true;
  });

  const timeoutMs = options.timeoutMs ?? Number(process.env.BENCH_START_TIMEOUT_MS ?? 30_000);
  const deadline = performance.now() + timeoutMs;
  let url: string | undefined;
  while (url === undefined) {
    const text = await readFile(options.logFile, "utf8").catch(() => "");
    url = options.listening.exec(text)?.[1];
    if (url !== undefined) break;
    if (options.probe && (await answers(`${options.probe.baseUrl}${options.probe.readyPath}`))) {
      url = options.probe.baseUrl;
      break;
    }
    if (gone) throw new Error(`${options.name} exited before listening:\n${tail(options.logFile)}`);
    if (performance.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`${options.name} did not listen within ${timeoutMs} ms:\n${tail(options.logFile)}`);
    }
    await delay(25);
  }

  const stop = async (): Promise<void> => {
    if (gone) return;
    child.kill("SIGTERM");
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), 15_000);
    });
    const first = await Promise.race([exited, bound]);
    clearTimeout(timer);
    if (first === "late") {
      child.kill("SIGKILL");
      await exited;
    }
  };
  return { name: options.name, url: url.replace(/\/+$/, ""), pid: child.pid!, logFile: options.logFile, exited, stop };
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

/** A port free right now on loopback, for a server whose address must be known before it logs anything. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Peak resident set size in bytes (VmHWM): the kernel keeps the high-water mark for the process's life. */
export function peakRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status);
  if (!match) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/** CPU seconds (user + system) the process has used so far, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name may hold spaces and parentheses: count fields from the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 14 and 15 of stat(5) (utime, stime) are at 11 and 12 after the name and state.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / clockTicksPerSecond;
}

/** sysconf(_SC_CLK_TCK) is 100 on every Linux the bench runs on (x86-64 and arm64). */
const clockTicksPerSecond = 100;
