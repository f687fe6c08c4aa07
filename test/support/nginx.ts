import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
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

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/**
 * The proxy settings the gateway needs, the same as deploy/nginx.conf's: uploads as large as the
 * gateway accepts, streamed on rather than buffered to disk; a read timeout longer than a slow
 * generation; the client's Host kept, so the image URLs the gateway builds point at the proxy.
 */
export function nginxConfig(dir: string, port: number, upstreams: readonly string[]): string {
  const servers = upstreams.map((url) => `    server ${new URL(url).host} max_fails=1 fail_timeout=5s;`).join("\n");
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

  upstream gateway {
${servers}
    keepalive 16;
  }

  server {
    listen 127.0.0.1:${port};
    client_max_body_size 64m;
    client_body_timeout 60s;

    location / {
      proxy_pass http://gateway;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_request_buffering off;
      proxy_buffering off;
      proxy_connect_timeout 2s;
      proxy_read_timeout 200s;
      proxy_send_timeout 200s;
      # A replica that refuses the connection is skipped; a call already sent is never sent twice.
      proxy_next_upstream error timeout;
    }
  }
}
`;
}

/** nginx on a free loopback port in front of `upstreams` (round-robin), with everything it writes in a temporary folder. */
export async function startNginx(upstreams: readonly string[], timeoutMs = 10_000): Promise<RunningNginx> {
  if (!nginxPresent) {
    throw new Error(`No nginx at ${NGINX_PATH}, and REQUIRE_NGINX=1 says the proxy tests must run: install it with \`apt-get install -y nginx\`.`);
  }
  const dir = await mkdtemp(path.join(tmpdir(), "gateway-nginx-"));
  const port = await freePort();
  const conf = path.join(dir, "nginx.conf");
  await writeFile(conf, nginxConfig(dir, port, upstreams));
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
