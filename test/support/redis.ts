import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { connect } from "node:net";
import { freePort } from "./loopback.js";
import { waitFor } from "./wait.js";

export const REDIS_SERVER = "/usr/bin/redis-server";
export const redisAvailable = existsSync(REDIS_SERVER);
if (!redisAvailable && process.env.REQUIRE_REDIS === "1") throw new Error("redis-server is required (REQUIRE_REDIS=1) but not installed");

function accepts(port: number): Promise<true | undefined> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(undefined));
  });
}

export interface TestRedis {
  port: number;
  url: string;
  process: ChildProcess;
  /** SIGKILL, as a crash would, and wait until it is gone. */
  kill(): Promise<void>;
  /** A new redis-server on the same port (empty: nothing is saved). */
  restart(): Promise<void>;
}

/** A throwaway redis-server on loopback, persisting nothing. */
export async function startRedis(port?: number): Promise<TestRedis> {
  const chosen = port ?? (await freePort());
  const launch = async (): Promise<ChildProcess> => {
    const child = spawn(REDIS_SERVER, ["--port", String(chosen), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"], { stdio: "ignore" });
    await waitFor(() => accepts(chosen));
    return child;
  };
  const redis: TestRedis = {
    port: chosen,
    url: `redis://127.0.0.1:${chosen}`,
    process: await launch(),
    async kill() {
      const child = redis.process;
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGKILL");
      await gone;
    },
    async restart() {
      await redis.kill();
      redis.process = await launch();
    },
  };
  return redis;
}
