import { execFile, spawn, type ChildProcess } from "node:child_process";
import { rm } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "../..");

export interface ChildGateway {
  url: string;
  child: ChildProcess;
  /** Every stdout and stderr line so far. */
  output: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Compiles the gateway once for this test process (a child process cannot run TypeScript with
 * decorator metadata on Node 20), into a folder of its own so parallel test files do not collide.
 */
export async function buildGateway(): Promise<{ main: string; cleanup: () => Promise<void> }> {
  const outDir = path.join(ROOT, ".test-build", String(process.pid));
  await run(process.execPath, [path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", path.join(ROOT, "tsconfig.build.json"), "--outDir", outDir], {
    cwd: ROOT,
  });
  return { main: path.join(outDir, "src/main.js"), cleanup: () => rm(outDir, { recursive: true, force: true }) };
}

/** Starts `node main.js` with the given environment and waits, bounded, for it to listen. */
export async function spawnGateway(main: string, env: Record<string, string>, timeoutMs = 20_000): Promise<ChildGateway> {
  const child = spawn(process.execPath, [main], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOST: "127.0.0.1", PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on("exit", (code, signal) => resolve({ code, signal }));
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start in ${timeoutMs} ms:\n${output.join("\n")}`)), timeoutMs);
    const onLine = (line: string) => {
      output.push(line);
      const match = /gateway listening on (http:\/\/[^\s"]+)\/graphql/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    for (const stream of [child.stdout, child.stderr]) {
      let pending = "";
      stream.on("data", (chunk: Buffer) => {
        pending += chunk.toString("utf8");
        const lines = pending.split("\n");
        pending = lines.pop()!;
        lines.forEach(onLine);
      });
    }
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code} before listening:\n${output.join("\n")}`));
    });
  });
  return { url, child, output, exited };
}
