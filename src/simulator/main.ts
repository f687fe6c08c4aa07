import { startSimulator } from "./simulator.js";

/**
 * `npm run simulator`: the simulator on its own, for running the gateway or a client against it by hand.
 * Faults can then be switched over HTTP: POST/DELETE /__simulator/faults, GET /__simulator/stats.
 */

function integerFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    console.error(`${name} must be a non-negative integer, got "${raw}"`);
    process.exit(1);
  }
  return value;
}

const simulator = await startSimulator({
  host: process.env.SIMULATOR_HOST || "127.0.0.1",
  port: integerFromEnv("SIMULATOR_PORT", 4010),
  apiKey: process.env.SIMULATOR_API_KEY || undefined,
  latencyMs: integerFromEnv("SIMULATOR_LATENCY_MS", 0),
  // A standalone run may last for hours: keeping every request body (base64 images) would only grow.
  maxReceived: 0,
});
console.log(`SiliconFlow simulator listening: ${simulator.url}`);
console.log(process.env.SIMULATOR_API_KEY ? "auth: Bearer <SIMULATOR_API_KEY>" : "auth: any non-empty Bearer token");

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: stopping`);
  await simulator.close();
  process.exit(0);
}
process.on("SIGINT", () => void stop("SIGINT"));
process.on("SIGTERM", () => void stop("SIGTERM"));
