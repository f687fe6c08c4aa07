import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { cpuSeconds, freePort, killAllChildren, peakRssBytes, spawnServer, type ChildServer } from "./lib/children.js";
import { directEdit, gatewayEdit, noisePng } from "./lib/edits.js";
import { jobEdit, pollingWatcher, subscriptionWatcher, type JobSplit, type JobWatcher } from "./lib/jobs.js";
import { runLoad, type LoadResult } from "./lib/load.js";
import { redisInstalled, startBenchRedis, type BenchRedis } from "./lib/redis.js";
import { mean, median, percentile, timed } from "./lib/stats.js";
import { fixed, megabytes, renderTable } from "./lib/table.js";

/**
 * `npm run bench`: what the gateway adds to a SiliconFlow call, measured against the simulator.
 *   (a) one 3 MB PNG edit at a time, gateway vs. direct, median ratio;
 *   (b) 48 such edits at once with 1 s upstream latency, wall-time ratio and the gateway's peak RSS;
 *   (c) `{ health { status } }` throughput, gateway vs. a bare Apollo Server on the same HTTP stack;
 *   (d) one such edit as a job (submit, then SUCCEEDED) vs. `generateImages`, 1 s upstream latency, on the
 *       BullMQ engine (a redis-server child, when installed) and the in-process one.
 * Every server runs in a child process of its own, so the gateway's memory and CPU are its alone; the
 * client (this process) and the simulator share the machine with it, so only the ratios of one run mean
 * anything. `--smoke` runs the same code with tiny sizes in a few seconds (CI checks it completes).
 *
 * Knobs for profiling (see docs/benchmarks.md): BENCH_GATEWAY_MAIN (another build of main.js),
 * BENCH_GATEWAY_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"), BENCH_GATEWAY_ENV
 * ("UV_THREADPOOL_SIZE=8 LOG_LEVEL=warn": extra environment for the gateway only), BENCH_KEEP=1 (keep the
 * servers' logs), BENCH_START_TIMEOUT_MS (how long a server may take to listen, default 30 s),
 * BENCH_JOBS_WATCH (`subscription`, the default, or `polling`: how (d) learns that a job finished).
 */

type Part = "a" | "b" | "c" | "d";
const PARTS: readonly Part[] = ["a", "b", "c", "d"];

interface Profile {
  name: "full" | "smoke";
  image: { width: number; height: number };
  sequential: { warmup: number; iterations: number };
  concurrent: { requests: number; latencyMs: number; maxConcurrency: number; rounds: number };
  throughput: { connections: number; seconds: number; warmupSeconds: number; rounds: number };
  jobs: { latencyMs: number; warmup: number; iterations: number };
}

const profiles: Record<Profile["name"], Profile> = {
  // 1120 x 1000 of noise is about 3.1 MB of PNG: below the gateway's 2048 px long side, so it is sent on untouched.
  full: {
    name: "full",
    image: { width: 1120, height: 1000 },
    sequential: { warmup: 3, iterations: 17 },
    concurrent: { requests: 48, latencyMs: 1000, maxConcurrency: 64, rounds: 2 },
    throughput: { connections: 32, seconds: 5, warmupSeconds: 1, rounds: 2 },
    jobs: { latencyMs: 1000, warmup: 2, iterations: 15 },
  },
  smoke: {
    name: "smoke",
    image: { width: 160, height: 120 },
    sequential: { warmup: 1, iterations: 3 },
    concurrent: { requests: 4, latencyMs: 50, maxConcurrency: 64, rounds: 1 },
    throughput: { connections: 4, seconds: 0.4, warmupSeconds: 0.1, rounds: 1 },
    jobs: { latencyMs: 50, warmup: 1, iterations: 2 },
  },
};

const targets = { sequentialRatio: 1.3, concurrentRatio: 1.3, peakRssBytes: 400e6, throughputRatio: 0.9, jobRatio: 1.1 };

interface Context {
  profile: Profile;
  root: string;
  apiKey: string;
  gatewayMain: string;
  simulatorMain: string;
  bareMain: string;
  gatewayNodeArgs: string[];
  gatewayEnv: Record<string, string>;
  png: Buffer;
  serial: number;
  jobsWatch: JobWatcher["kind"];
}

function parseArgs(argv: readonly string[]): { smoke: boolean; parts: Set<Part> } {
  let smoke = false;
  let parts = new Set<Part>(PARTS);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--smoke") smoke = true;
    else if (arg === "--only" || arg!.startsWith("--only=")) {
      const value = arg!.includes("=") ? arg!.slice(arg!.indexOf("=") + 1) : argv[++i];
      const chosen = (value ?? "").split(",").map((p) => p.trim());
      if (chosen.some((p) => !PARTS.includes(p as Part)) || chosen.length === 0) {
        throw new Error(`--only takes a comma-separated list of ${PARTS.join(", ")}; got "${value ?? ""}"`);
      }
      parts = new Set(chosen as Part[]);
    } else {
      throw new Error(`unknown argument ${arg} (known: --smoke, --only ${PARTS.join(",")})`);
    }
  }
  return { smoke, parts };
}

function parseJobsWatch(value: string | undefined): JobWatcher["kind"] {
  if (value === undefined || value === "" || value === "subscription") return "subscription";
  if (value === "polling") return "polling";
  throw new Error(`BENCH_JOBS_WATCH is subscription or polling; got "${value}"`);
}

/** "A=1 B=2" into an object: extra environment for the gateway child only. */
function parseEnvPairs(text: string | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of (text ?? "").split(/\s+/).filter(Boolean)) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new Error(`BENCH_GATEWAY_ENV: "${pair}" is not KEY=VALUE`);
    env[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return env;
}

async function startSimulator(ctx: Context, latencyMs: number): Promise<ChildServer> {
  const id = ++ctx.serial;
  return spawnServer({
    name: "simulator",
    script: ctx.simulatorMain,
    cwd: ctx.root,
    logFile: path.join(ctx.root, `simulator-${id}.log`),
    env: { SIMULATOR_HOST: "127.0.0.1", SIMULATOR_PORT: "0", SIMULATOR_API_KEY: ctx.apiKey, SIMULATOR_LATENCY_MS: String(latencyMs) },
    // The announced URL is the API base, `/v1` included.
    listening: /SiliconFlow simulator listening: (http:\/\/\S+)/,
  });
}

interface GatewayChild extends ChildServer {
  /** The gateway's call log: one JSON line per call, with its phase timings. */
  callLog: string;
}

async function startGateway(ctx: Context, simulator: ChildServer, maxConcurrency: number, env: Record<string, string> = {}): Promise<GatewayChild> {
  const id = ++ctx.serial;
  const dir = path.join(ctx.root, `gateway-${id}`);
  await mkdir(path.join(dir, "logs"), { recursive: true });
  await mkdir(path.join(dir, "data"), { recursive: true });
  const port = await freePort();
  const server = await spawnServer({
    name: "gateway",
    script: ctx.gatewayMain,
    // Its own folder as working directory, so no gateway.config.yaml lying around is picked up.
    cwd: dir,
    logFile: path.join(dir, "stdout.log"),
    nodeArgs: ctx.gatewayNodeArgs,
    env: {
      NODE_ENV: "production",
      HOST: "127.0.0.1",
      // Chosen here rather than 0, so readiness can be probed even when LOG_LEVEL hides the listening line.
      PORT: String(port),
      SILICONFLOW_API_KEY: ctx.apiKey,
      SILICONFLOW_BASE_URL: simulator.url,
      SILICONFLOW_MAX_CONCURRENCY: String(maxConcurrency),
      // One probe serves the whole run: (c) measures the gateway, not the simulator's model list.
      HEALTH_PROBE_CACHE_MS: "3600000",
      LOG_DIR: path.join(dir, "logs"),
      DATA_DIR: path.join(dir, "data"),
      ...env,
      ...ctx.gatewayEnv,
    },
    listening: /gateway listening on (http:\/\/[^\s"]+)\/graphql/,
    probe: { baseUrl: `http://127.0.0.1:${port}`, readyPath: "/ready" },
  });
  return { ...server, callLog: path.join(dir, "logs", "image_generation.log") };
}

/**
 * Medians of the phase timings the gateway logs for each call (`timing.*_ms`, `total_time_ms`), skipping
 * the warm-up calls: where the gateway's own time goes. Empty when the log is missing or its shape changed.
 */
async function callLogPhases(file: string, skip: number, asJob?: boolean): Promise<Record<string, number>> {
  const text = await readFile(file, "utf8").catch(() => "");
  const samples = new Map<string, number[]>();
  const add = (key: string, value: unknown) => {
    if (typeof value === "number" && Number.isFinite(value)) samples.set(key, [...(samples.get(key) ?? []), value]);
  };
  const records: Array<{ timing?: Record<string, unknown>; total_time_ms?: unknown; job_id?: unknown }> = [];
  for (const line of text.split("\n").filter(Boolean)) {
    try {
      records.push(JSON.parse(line) as (typeof records)[number]);
    } catch {
      continue;
    }
  }
  // `asJob` keeps the lines of jobs only (true) or of direct calls only (false), each skipping its warm-ups.
  const chosen = asJob === undefined ? records : records.filter((record) => (typeof record.job_id === "string") === asJob);
  for (const record of chosen.slice(skip)) {
    for (const [key, value] of Object.entries(record.timing ?? {})) if (key.endsWith("_ms")) add(key.slice(0, -3), value);
    add("total", record.total_time_ms);
  }
  return Object.fromEntries([...samples].map(([key, values]) => [key, median(values)]));
}

async function startBare(ctx: Context): Promise<ChildServer> {
  const id = ++ctx.serial;
  return spawnServer({
    name: "bare apollo",
    script: ctx.bareMain,
    cwd: ctx.root,
    logFile: path.join(ctx.root, `bare-${id}.log`),
    env: { HOST: "127.0.0.1", PORT: "0", NODE_ENV: "production" },
    listening: /bare apollo listening on (http:\/\/\S+)\/graphql/,
  });
}

async function stopAll(...servers: Array<ChildServer | undefined>): Promise<void> {
  await Promise.all(servers.filter((s) => s !== undefined).map((s) => s.stop()));
}

// ---------------------------------------------------------------------------------------------- (a)

interface SequentialResult {
  inputBytes: number;
  outputBytes: number;
  gatewayMs: number[];
  directMs: number[];
  gatewaySplit: { requestMs: number[]; downloadMs: number[] };
  directSplit: { requestMs: number[]; downloadMs: number[] };
  gatewayCpuMsPerEdit: number;
  /** Median phase timings from the gateway's call log, ms. */
  phases: Record<string, number>;
  ratio: number;
}

async function benchSequential(ctx: Context): Promise<SequentialResult> {
  const { warmup, iterations } = ctx.profile.sequential;
  const simulator = await startSimulator(ctx, 0);
  let gateway: GatewayChild | undefined;
  try {
    gateway = await startGateway(ctx, simulator, 64);
    const gw = gateway;
    const viaGateway = () => gatewayEdit(gw.url, ctx.png);
    const direct = () => directEdit(simulator.url, ctx.apiKey, ctx.png);
    for (let i = 0; i < warmup; i++) {
      await viaGateway();
      await direct();
    }
    const gatewayMs: number[] = [];
    const directMs: number[] = [];
    const gatewaySplit = { requestMs: [] as number[], downloadMs: [] as number[] };
    const directSplit = { requestMs: [] as number[], downloadMs: [] as number[] };
    let gatewayCpu = 0;
    let outputBytes = 0;
    for (let i = 0; i < iterations; i++) {
      // Alternating which goes first cancels drift (thermal, GC, page cache) between the two paths.
      const order = i % 2 === 0 ? (["gateway", "direct"] as const) : (["direct", "gateway"] as const);
      for (const which of order) {
        if (which === "gateway") {
          const cpuBefore = cpuSeconds(gw.pid);
          const run = await timed(viaGateway);
          gatewayCpu += cpuSeconds(gw.pid) - cpuBefore;
          gatewayMs.push(run.ms);
          gatewaySplit.requestMs.push(run.value.requestMs);
          gatewaySplit.downloadMs.push(run.value.downloadMs);
          outputBytes = run.value.outputBytes;
        } else {
          const run = await timed(direct);
          directMs.push(run.ms);
          directSplit.requestMs.push(run.value.requestMs);
          directSplit.downloadMs.push(run.value.downloadMs);
        }
      }
    }
    return {
      inputBytes: ctx.png.length,
      outputBytes,
      gatewayMs,
      directMs,
      gatewaySplit,
      directSplit,
      gatewayCpuMsPerEdit: (gatewayCpu * 1000) / iterations,
      phases: await callLogPhases(gw.callLog, warmup),
      ratio: median(gatewayMs) / median(directMs),
    };
  } finally {
    await stopAll(gateway, simulator);
  }
}

// ---------------------------------------------------------------------------------------------- (b)

interface ConcurrentResult {
  requests: number;
  latencyMs: number;
  gatewayMs: number[];
  directMs: number[];
  ratio: number;
  peakRssBytes: number;
  idleRssBytes: number;
  gatewayCpuSecondsPerBatch: number;
}

async function batch(requests: number, work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await Promise.all(Array.from({ length: requests }, work));
  return performance.now() - started;
}

async function benchConcurrent(ctx: Context): Promise<ConcurrentResult> {
  const { requests, latencyMs, maxConcurrency, rounds } = ctx.profile.concurrent;
  const simulator = await startSimulator(ctx, latencyMs);
  let gateway: GatewayChild | undefined;
  try {
    // A fresh gateway: VmHWM cannot be reset, so its peak must come from this part alone.
    gateway = await startGateway(ctx, simulator, maxConcurrency);
    const gw = gateway;
    const viaGateway = () => gatewayEdit(gw.url, ctx.png);
    const direct = () => directEdit(simulator.url, ctx.apiKey, ctx.png);
    await viaGateway();
    await direct();
    const idleRssBytes = peakRssBytes(gw.pid);
    const gatewayMs: number[] = [];
    const directMs: number[] = [];
    let gatewayCpu = 0;
    for (let r = 0; r < rounds; r++) {
      // G D D G: alternated to cancel drift, and the two gateway bursts never back to back, so the peak is
      // that of one burst of `requests`, not of two overlapping in memory before a collection.
      const order = r % 2 === 0 ? (["gateway", "direct"] as const) : (["direct", "gateway"] as const);
      for (const which of order) {
        if (which === "gateway") {
          const cpuBefore = cpuSeconds(gw.pid);
          gatewayMs.push(await batch(requests, viaGateway));
          gatewayCpu += cpuSeconds(gw.pid) - cpuBefore;
        } else {
          directMs.push(await batch(requests, direct));
        }
      }
    }
    return {
      requests,
      latencyMs,
      gatewayMs,
      directMs,
      ratio: mean(gatewayMs) / mean(directMs),
      peakRssBytes: peakRssBytes(gw.pid),
      idleRssBytes,
      gatewayCpuSecondsPerBatch: gatewayCpu / rounds,
    };
  } finally {
    await stopAll(gateway, simulator);
  }
}

// ---------------------------------------------------------------------------------------------- (c)

interface ThroughputSide {
  runs: LoadResult[];
  perSecond: number;
  errors: number;
  /** Server CPU per request, microseconds: steadier than throughput when the client competes for cores. */
  cpuMicrosPerRequest: number;
}

interface ThroughputResult {
  connections: number;
  seconds: number;
  gateway: ThroughputSide;
  bare: ThroughputSide;
  ratio: number;
}

const HEALTH_QUERY = JSON.stringify({ query: "{ health { status } }" });

async function checkHealthAnswer(server: ChildServer): Promise<void> {
  const response = await fetch(`${server.url}/graphql`, { method: "POST", headers: { "content-type": "application/json" }, body: HEALTH_QUERY });
  const body = (await response.json()) as { data?: { health?: { status?: string } } };
  if (response.status !== 200 || typeof body.data?.health?.status !== "string") {
    throw new Error(`${server.name} did not answer the health query: HTTP ${response.status} ${JSON.stringify(body).slice(0, 200)}`);
  }
}

async function benchThroughput(ctx: Context): Promise<ThroughputResult> {
  const { connections, seconds, warmupSeconds, rounds } = ctx.profile.throughput;
  const simulator = await startSimulator(ctx, 0);
  let gateway: GatewayChild | undefined;
  let bare: ChildServer | undefined;
  try {
    gateway = await startGateway(ctx, simulator, 64);
    bare = await startBare(ctx);
    const servers = { gateway, bare };
    await checkHealthAnswer(gateway);
    await checkHealthAnswer(bare);
    const load = (server: ChildServer, s: number) => runLoad({ url: `${server.url}/graphql`, body: HEALTH_QUERY, connections, seconds: s });
    await load(bare, warmupSeconds);
    await load(gateway, warmupSeconds);
    const runs: Record<"gateway" | "bare", Array<LoadResult & { cpu: number }>> = { gateway: [], bare: [] };
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? (["bare", "gateway"] as const) : (["gateway", "bare"] as const);
      for (const which of order) {
        const server = servers[which];
        const cpuBefore = cpuSeconds(server.pid);
        const result = await load(server, seconds);
        runs[which].push({ ...result, cpu: cpuSeconds(server.pid) - cpuBefore });
      }
    }
    const side = (list: Array<LoadResult & { cpu: number }>): ThroughputSide => {
      const requests = list.reduce((n, r) => n + r.requests, 0);
      const time = list.reduce((n, r) => n + r.seconds, 0);
      const cpu = list.reduce((n, r) => n + r.cpu, 0);
      return {
        runs: list,
        perSecond: requests / time,
        errors: list.reduce((n, r) => n + r.errors, 0),
        cpuMicrosPerRequest: requests > 0 ? (cpu * 1e6) / requests : Number.NaN,
      };
    };
    const gatewaySide = side(runs.gateway);
    const bareSide = side(runs.bare);
    return { connections, seconds, gateway: gatewaySide, bare: bareSide, ratio: gatewaySide.perSecond / bareSide.perSecond };
  } finally {
    await stopAll(gateway, bare, simulator);
  }
}

// ---------------------------------------------------------------------------------------------- (d)

interface JobsEngineResult {
  engine: "bullmq" | "in-process";
  watch: JobWatcher["kind"];
  /** Submit to SUCCEEDED, ms. */
  jobMs: number[];
  /** Each job's time by stage. */
  splits: JobSplit[];
  /** `generateImages`, request to answer (its output not downloaded, as the job's is not), ms. */
  directMs: number[];
  ratio: number;
  /** Median phase timings from the call log: the jobs' lines, and the direct calls'. */
  jobPhases: Record<string, number>;
  directPhases: Record<string, number>;
}

interface JobsResult {
  latencyMs: number;
  engines: JobsEngineResult[];
}

const POLL_INTERVAL_MS = 25;

async function benchJobEngine(ctx: Context, simulator: ChildServer, engine: JobsEngineResult["engine"], redis: BenchRedis | undefined): Promise<JobsEngineResult> {
  const { warmup, iterations } = ctx.profile.jobs;
  let gateway: GatewayChild | undefined;
  let watcher: JobWatcher | undefined;
  try {
    gateway = await startGateway(ctx, simulator, 64, redis ? { REDIS_URL: redis.url } : {});
    const gw = gateway;
    const watch = ctx.jobsWatch === "subscription" ? subscriptionWatcher(gw.url) : pollingWatcher(gw.url, POLL_INTERVAL_MS);
    watcher = watch;
    const splits: JobSplit[] = [];
    const asJob = async () => {
      const run = await jobEdit(gw.url, ctx.png, watch);
      splits.push(run.split);
      return run.ms;
    };
    const direct = async () => (await gatewayEdit(gw.url, ctx.png)).requestMs;
    for (let i = 0; i < warmup; i++) {
      await asJob();
      await direct();
    }
    const jobMs: number[] = [];
    const directMs: number[] = [];
    for (let i = 0; i < iterations; i++) {
      // Alternated, as in (a); one at a time, so the job never queues behind another.
      if (i % 2 === 0) {
        jobMs.push(await asJob());
        directMs.push(await direct());
      } else {
        directMs.push(await direct());
        jobMs.push(await asJob());
      }
    }
    return {
      engine,
      watch: watch.kind,
      jobMs,
      splits: splits.slice(warmup),
      directMs,
      ratio: median(jobMs) / median(directMs),
      jobPhases: await callLogPhases(gw.callLog, warmup, true),
      directPhases: await callLogPhases(gw.callLog, warmup, false),
    };
  } finally {
    await watcher?.close();
    await stopAll(gateway);
  }
}

async function benchJobs(ctx: Context): Promise<JobsResult> {
  const { latencyMs } = ctx.profile.jobs;
  const simulator = await startSimulator(ctx, latencyMs);
  let redis: BenchRedis | undefined;
  try {
    const engines: JobsEngineResult[] = [];
    if (redisInstalled()) {
      redis = await startBenchRedis();
      engines.push(await benchJobEngine(ctx, simulator, "bullmq", redis));
      await redis.stop();
      redis = undefined;
    }
    engines.push(await benchJobEngine(ctx, simulator, "in-process", undefined));
    return { latencyMs, engines };
  } finally {
    await redis?.stop();
    await stopAll(simulator);
  }
}

// ---------------------------------------------------------------------------------------------- report

function verdict(ok: boolean): string {
  return ok ? "met" : "MISSED";
}

function machineLine(gatewayEnv: Record<string, string>): string {
  const cpus = os.cpus();
  const threadpool = gatewayEnv.UV_THREADPOOL_SIZE ?? "4 (default)";
  return [
    `machine: ${os.availableParallelism()} cpus (${cpus[0]?.model.trim() ?? "unknown"})`,
    `${fixed(os.totalmem() / 2 ** 30, 1)} GiB RAM`,
    `node ${process.version}`,
    `${os.platform()} ${os.release()}`,
    `gateway UV_THREADPOOL_SIZE ${threadpool}`,
  ].join(", ");
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const profile = profiles[args.smoke ? "smoke" : "full"];
  const distRoot = path.resolve(import.meta.dirname, "..");
  const root = await mkdtemp(path.join(os.tmpdir(), "gateway-bench-"));
  const ctx: Context = {
    profile,
    root,
    apiKey: `sk-bench-${randomBytes(12).toString("hex")}`,
    gatewayMain: process.env.BENCH_GATEWAY_MAIN ? path.resolve(process.env.BENCH_GATEWAY_MAIN) : path.join(distRoot, "src/main.js"),
    simulatorMain: path.join(distRoot, "src/simulator/main.js"),
    bareMain: path.join(import.meta.dirname, "bare-server.js"),
    gatewayNodeArgs: (process.env.BENCH_GATEWAY_NODE_ARGS ?? "").split(/\s+/).filter(Boolean),
    gatewayEnv: parseEnvPairs(process.env.BENCH_GATEWAY_ENV),
    png: await noisePng(profile.image.width, profile.image.height),
    serial: 0,
    jobsWatch: parseJobsWatch(process.env.BENCH_JOBS_WATCH),
  };
  const onSignal = () => {
    killAllChildren();
    process.exit(130);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  // Whatever path leads out, no server of ours outlives the bench.
  process.on("exit", killAllChildren);

  console.log(`gateway benchmark (${profile.name}): ${machineLine(ctx.gatewayEnv)}`);
  console.log(
    `input: ${profile.image.width}x${profile.image.height} noise PNG, ${ctx.png.length} bytes; gateway ${ctx.gatewayMain}` +
      (ctx.gatewayNodeArgs.length ? `; node args ${ctx.gatewayNodeArgs.join(" ")}` : "") +
      (Object.keys(ctx.gatewayEnv).length ? `; env ${process.env.BENCH_GATEWAY_ENV}` : ""),
  );

  const rows: string[][] = [];
  const notes: string[] = [];
  const result: Record<string, unknown> = { profile: profile.name, inputBytes: ctx.png.length };
  try {
    if (args.parts.has("a")) {
      process.stdout.write("(a) sequential edits ... ");
      const aStarted = performance.now();
      const a = await benchSequential(ctx);
      console.log(`done in ${fixed((performance.now() - aStarted) / 1000, 1)} s`);
      rows.push([
        `(a) one ${megabytes(a.inputBytes)} edit, median of ${a.gatewayMs.length}`,
        `${fixed(median(a.gatewayMs), 1)} ms`,
        `${fixed(median(a.directMs), 1)} ms`,
        fixed(a.ratio, 3),
        `<= ${targets.sequentialRatio}`,
        verdict(a.ratio <= targets.sequentialRatio),
      ]);
      rows.push([
        "    p90 / min",
        `${fixed(percentile(a.gatewayMs, 90), 1)} / ${fixed(Math.min(...a.gatewayMs), 1)} ms`,
        `${fixed(percentile(a.directMs, 90), 1)} / ${fixed(Math.min(...a.directMs), 1)} ms`,
        "",
        "",
        "",
      ]);
      rows.push([
        "    request / output download (medians)",
        `${fixed(median(a.gatewaySplit.requestMs), 1)} / ${fixed(median(a.gatewaySplit.downloadMs), 1)} ms`,
        `${fixed(median(a.directSplit.requestMs), 1)} / ${fixed(median(a.directSplit.downloadMs), 1)} ms`,
        "",
        "",
        "",
      ]);
      const phases = Object.entries(a.phases).filter(([key, ms]) => key !== "total" && ms >= 0.05);
      if (phases.length > 0) {
        notes.push(
          `(a) the gateway's own log, medians: call ${fixed(a.phases.total ?? Number.NaN, 1)} ms = ` +
            phases.map(([key, ms]) => `${key} ${fixed(ms, 1)}`).join(" + ") +
            " ms (+ the rest)",
        );
      }
      rows.push([`    gateway CPU per edit (output ${megabytes(a.outputBytes)})`, `${fixed(a.gatewayCpuMsPerEdit, 1)} ms`, "", "", "", ""]);
      result.a = { ratio: a.ratio, gatewayMedianMs: median(a.gatewayMs), directMedianMs: median(a.directMs), gatewayCpuMsPerEdit: a.gatewayCpuMsPerEdit };
    }
    if (args.parts.has("b")) {
      process.stdout.write("(b) concurrent edits ... ");
      const bStarted = performance.now();
      const b = await benchConcurrent(ctx);
      console.log(`done in ${fixed((performance.now() - bStarted) / 1000, 1)} s`);
      rows.push([
        `(b) ${b.requests} edits at once, ${b.latencyMs} ms upstream, wall (mean of ${b.gatewayMs.length})`,
        `${fixed(mean(b.gatewayMs), 0)} ms`,
        `${fixed(mean(b.directMs), 0)} ms`,
        fixed(b.ratio, 3),
        `<= ${targets.concurrentRatio}`,
        verdict(b.ratio <= targets.concurrentRatio),
      ]);
      rows.push([
        "    gateway peak RSS (VmHWM)",
        megabytes(b.peakRssBytes),
        "",
        "",
        `<= ${megabytes(targets.peakRssBytes)}`,
        verdict(b.peakRssBytes <= targets.peakRssBytes),
      ]);
      rows.push([
        "    gateway RSS before the batches / CPU per batch",
        `${megabytes(b.idleRssBytes)} / ${fixed(b.gatewayCpuSecondsPerBatch, 2)} s`,
        "",
        "",
        "",
        "",
      ]);
      result.b = { ratio: b.ratio, gatewayMeanMs: mean(b.gatewayMs), directMeanMs: mean(b.directMs), peakRssBytes: b.peakRssBytes, peakRssMB: b.peakRssBytes / 1e6 };
    }
    if (args.parts.has("c")) {
      process.stdout.write("(c) health throughput ... ");
      const cStarted = performance.now();
      const c = await benchThroughput(ctx);
      console.log(`done in ${fixed((performance.now() - cStarted) / 1000, 1)} s`);
      const errors = c.gateway.errors + c.bare.errors;
      rows.push([
        `(c) { health { status } }, ${c.connections} connections, ${c.gateway.runs.length} x ${c.seconds} s`,
        `${fixed(c.gateway.perSecond, 0)} req/s`,
        `${fixed(c.bare.perSecond, 0)} req/s`,
        fixed(c.ratio, 3),
        `>= ${targets.throughputRatio}`,
        verdict(c.ratio >= targets.throughputRatio) + (errors > 0 ? ` (${errors} errors)` : ""),
      ]);
      rows.push([
        "    server CPU per request (ratio: bare / gateway)",
        `${fixed(c.gateway.cpuMicrosPerRequest, 0)} us`,
        `${fixed(c.bare.cpuMicrosPerRequest, 0)} us`,
        fixed(c.bare.cpuMicrosPerRequest / c.gateway.cpuMicrosPerRequest, 3),
        "",
        "",
      ]);
      result.c = {
        ratio: c.ratio,
        gatewayPerSecond: c.gateway.perSecond,
        barePerSecond: c.bare.perSecond,
        errors,
        gatewayCpuMicrosPerRequest: c.gateway.cpuMicrosPerRequest,
        bareCpuMicrosPerRequest: c.bare.cpuMicrosPerRequest,
      };
    }
    if (args.parts.has("d")) {
      process.stdout.write("(d) jobs vs. generateImages ... ");
      const dStarted = performance.now();
      const d = await benchJobs(ctx);
      console.log(`done in ${fixed((performance.now() - dStarted) / 1000, 1)} s`);
      for (const engine of d.engines) {
        rows.push([
          `(d) edit as a job (${engine.engine}, ${engine.watch}) vs. generateImages, ${d.latencyMs} ms upstream, median of ${engine.jobMs.length}`,
          `${fixed(median(engine.jobMs), 1)} ms`,
          `${fixed(median(engine.directMs), 1)} ms`,
          fixed(engine.ratio, 3),
          `<= ${targets.jobRatio}`,
          verdict(engine.ratio <= targets.jobRatio),
        ]);
        rows.push([
          "    p90 / min",
          `${fixed(percentile(engine.jobMs, 90), 1)} / ${fixed(Math.min(...engine.jobMs), 1)} ms`,
          `${fixed(percentile(engine.directMs, 90), 1)} / ${fixed(Math.min(...engine.directMs), 1)} ms`,
          "",
          "",
          "",
        ]);
        const stage = (key: keyof JobSplit) => fixed(median(engine.splits.map((split) => split[key])), 1);
        rows.push([
          "    job: submit answered / queued / running / told (medians)",
          `${stage("submitMs")} / ${stage("queuedMs")} / ${stage("runningMs")} / ${stage("toldMs")} ms`,
          "",
          "",
          "",
          "",
        ]);
      }
      for (const engine of d.engines) {
        const phase = (phases: Record<string, number>, key: string) => fixed(phases[key] ?? Number.NaN, 1);
        notes.push(
          `(d) ${engine.engine}, the gateway's own log, medians: a job's call ${phase(engine.jobPhases, "total")} ms, of which queued ` +
            `${phase(engine.jobPhases, "job_queue")} ms and upstream ${phase(engine.jobPhases, "upstream")} ms; a generateImages call ` +
            `${phase(engine.directPhases, "total")} ms, upstream ${phase(engine.directPhases, "upstream")} ms`,
        );
      }
      if (d.engines.every((engine) => engine.engine !== "bullmq")) notes.push("(d) no redis-server installed: the BullMQ engine was not measured");
      result.d = {
        // The durable engine is the one the target is about; the in-process one when Redis is missing.
        ratio: d.engines[0]!.ratio,
        engines: Object.fromEntries(
          d.engines.map((engine) => [engine.engine, { ratio: engine.ratio, watch: engine.watch, jobMedianMs: median(engine.jobMs), generateImagesMedianMs: median(engine.directMs) }]),
        ),
      };
    }
  } finally {
    killAllChildren();
    // BENCH_KEEP=1 keeps the servers' logs and call logs for a closer look.
    if (process.env.BENCH_KEEP === "1") console.log(`kept ${root}`);
    else await rm(root, { recursive: true, force: true }).catch(() => undefined);
  }

  console.log("");
  console.log(renderTable(["benchmark", "gateway", "direct / bare", "ratio", "target", "verdict"], rows));
  console.log("");
  for (const note of notes) console.log(note);
  if (notes.length > 0) console.log("");
  // One machine-readable line, for the smoke test and for anyone collecting runs.
  console.log(`bench-result ${JSON.stringify(result)}`);
}

main().catch((error: unknown) => {
  killAllChildren();
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
