import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { freePort } from "./loopback.js";
import { tmpdir } from "node:os";
import path from "node:path";

/** Debian's nginx, which .ci/run installs. */
export const NGINX_PATH = process.env.NGINX_PATH ?? "/usr/sbin/nginx";

/** CI sets REQUIRE_NGINX=1: there a missing nginx is a failure, not a skip. */
export const nginxRequired = process.env.REQUIRE_NGINX === "1";
export const nginxPresent = existsSync(NGINX_PATH);
/** For `describe.skipIf(skipNginxTests)`: skip locally without nginx, never in CI. */
export const skipNginxTests = !nginxPresent && !nginxRequired;

export interface RunningNginx {
  /** `http://127.0.0.1:<port>`, the one address clients use. */
  url: string;
  /** The access log's lines so far, each `<upstream address> <status> <request>`. */
  accessLog(): Promise<string[]>;
  close(): Promise<void>;
}

/** The proxy configuration shipped for deployments: the tests run it, not a copy of it. */
export const DEPLOY_NGINX_CONF = path.resolve(import.meta.dirname, "../../deploy/nginx.conf");

/**
 * deploy/nginx.conf with its upstream's servers replaced by `upstreams` and its listen address by a
 * loopback port; everything else as shipped.
 */
export function deployedServerConfig(text: string, port: number, upstreams: readonly string[]): string {
  const servers = upstreams.map((url) => `  server ${new URL(url).host} max_fails=1 fail_timeout=10s;`).join("\n");
  const upstreamBlock = /(upstream gateway \{\n)((?:\s*#.*\n)*)((?:\s*server [^;]+;\n)+)/;
  const listen = /^(\s*)listen 80;$/m;
  if (!upstreamBlock.test(text) || !listen.test(text)) throw new Error("deploy/nginx.conf has no `upstream gateway` with servers, or no `listen 80;`");
  return text.replace(upstreamBlock, (_all, head: string, comments: string) => `${head}${comments}${servers}\n`).replace(listen, `$1listen 127.0.0.1:${port};`);
}

/** A main configuration around deploy/nginx.conf's, for one unprivileged run with every path inside `dir`. */
export async function nginxConfig(dir: string, port: number, upstreams: readonly string[]): Promise<string> {
  const deployed = deployedServerConfig(await readFile(DEPLOY_NGINX_CONF, "utf8"), port, upstreams);
  return `# Generated for one test run; every path is inside ${dir}.
daemon off;
# One process: no workers to switch to an unprivileged user that could not write this folder.
master_process off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  log_format upstreamed '$upstream_addr $status "$request"';
  access_log ${dir}/access.log upstreamed;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;

${deployed}
}
`;
}

/** nginx on a free loopback port in front of `upstreams` (round-robin, as deploy/nginx.conf says), with everything it writes in a temporary folder. */
export async function startNginx(upstreams: readonly string[], timeoutMs = 10_000): Promise<RunningNginx> {
  if (!nginxPresent) {
    throw new Error(`No nginx at ${NGINX_PATH}, and REQUIRE_NGINX=1 says the proxy tests must run: install it with \`apt-get install -y nginx\`.`);
  }
  const dir = await mkdtemp(path.join(tmpdir(), "gateway-nginx-"));
  const port = await freePort();
  const conf = path.join(dir, "nginx.conf");
  await writeFile(conf, await nginxConfig(dir, port, upstreams));
  // -e: the log for start-up errors, before the configuration names its own.
  const child: ChildProcess = spawn(NGINX_PATH, ["-p", dir, "-c", conf, "-e", path.join(dir, "error.log")], { stdio: ["ignore", "pipe", "pipe"] });
  const output: string[] = [];
  child.stdout?.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const errorLog = async (): Promise<string> => readFile(path.join(dir, "error.log"), "utf8").catch(() => "");
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}:\n${output.join("")}${await errorLog()}`);
    const answered = await fetch(`${url}/health`).then(
      (response) => response.status,
      () => undefined,
    );
    if (answered !== undefined) break;
    if (Date.now() > deadline) throw new Error(`nginx did not answer in ${timeoutMs} ms:\n${output.join("")}${await errorLog()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url,
    accessLog: async () => (await readFile(path.join(dir, "access.log"), "utf8").catch(() => "")).split("\n").filter(Boolean),
    close: async () => {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
