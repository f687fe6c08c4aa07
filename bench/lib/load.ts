import { Agent, request } from "node:http";

export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  perSecond: number;
}

export interface LoadOptions {
  url: string;
  body: string;
  headers?: Record<string, string>;
  connections: number;
  seconds: number;
}

/**
 * A small closed-loop load generator (autocannon is not a dependency): `connections` keep-alive loops,
 * each sending the next request as soon as the previous answer is read, for a fixed time.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const target = new URL(options.url);
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
  const payload = Buffer.from(options.body, "utf8");
  const headers = { "content-type": "application/json", "content-length": String(payload.length), ...options.headers };
  let requests = 0;
  let errors = 0;

  const once = () =>
    new Promise<boolean>((resolve) => {
      const req = request(
        { agent, host: target.hostname, port: target.port, path: target.pathname, method: "POST", headers },
        (res) => {
          res.on("data", () => undefined);
          res.on("end", () => resolve(res.statusCode === 200));
          res.on("error", () => resolve(false));
        },
      );
      req.on("error", () => resolve(false));
      req.end(payload);
    });

  const started = performance.now();
  const deadline = started + options.seconds * 1000;
  const loop = async () => {
    while (performance.now() < deadline) {
      if (await once()) requests += 1;
      else errors += 1;
    }
  };
  await Promise.all(Array.from({ length: options.connections }, loop));
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return { requests, errors, seconds, perSecond: requests / seconds };
}
