import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments, parse as parseYaml } from "yaml";
import { configSchema, environmentKeys } from "../../src/config/config.schema.js";
import { parseConfig } from "../../src/config/load-config.js";

const DEPLOY = path.resolve(import.meta.dirname, "../../deploy");
const K8S = path.join(DEPLOY, "k8s");

// GATEWAY_CONFIG and NODE_ENV are read before the schema; every other name must be one the schema reads.
const KNOWN_NAMES = new Set([...environmentKeys.map(([name]) => name), "GATEWAY_CONFIG", "NODE_ENV"]);
const SCHEMA_NAMES = new Set(environmentKeys.map(([name]) => name));

/** A YAML file's documents, failing on any syntax error; merge keys (`<<`) as Docker Compose reads them. */
function documents(file: string): Array<Record<string, unknown>> {
  const docs = parseAllDocuments(readFileSync(file, "utf8"), { merge: true });
  const list = Array.isArray(docs) ? docs : [docs];
  for (const doc of list) expect(doc.errors.map((error) => error.message), file).toEqual([]);
  return list.map((doc) => doc.toJS({ maxAliasCount: 100 }) as Record<string, unknown>);
}

/** Only the schema's names, for parseConfig: GATEWAY_CONFIG and NODE_ENV are read before it. */
function schemaEnv(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([name]) => SCHEMA_NAMES.has(name)));
}

/** The fields of the manifests these tests read; YAML gives no types, so a missing field fails its assertion. */
interface EnvEntry {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } };
}
interface Container {
  ports: Array<{ name: string; containerPort: number }>;
  env?: EnvEntry[];
  readinessProbe: { httpGet: { path: string; port: string | number } };
  livenessProbe: { httpGet: { path: string; port: string | number } };
  lifecycle: { preStop: { exec: { command: string[] } } };
  resources: { requests: { cpu?: string; memory?: string }; limits: { memory?: string } };
  volumeMounts: Array<{ name: string; mountPath: string; subPath?: string }>;
}
interface Manifest {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; labels?: Record<string, string> };
  resources?: string[];
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  spec?: {
    replicas?: number;
    minAvailable?: number;
    selector?: Record<string, string> & { matchLabels?: Record<string, string> };
    strategy?: { rollingUpdate: { maxUnavailable: number } };
    ports?: Array<{ targetPort: string | number }>;
    template?: {
      metadata: { labels: Record<string, string> };
      spec: { containers: Container[]; terminationGracePeriodSeconds: number; volumes: Array<{ name: string; configMap?: { name: string } }> };
    };
  };
}
interface ComposeService {
  environment: Record<string, unknown>;
  entrypoint: string[];
  volumes: string[];
  ports?: string[];
  depends_on: Record<string, { condition: string }>;
  stop_grace_period: string;
}

describe("Kubernetes manifests (deploy/k8s)", () => {
  const files = readdirSync(K8S).filter((name) => name.endsWith(".yaml"));
  const byKind = new Map<string, Manifest>();
  for (const name of files) for (const doc of documents(path.join(K8S, name)) as Manifest[]) byKind.set(String(doc.kind), doc);
  const kind = (name: string): Manifest => byKind.get(name) ?? {};
  const deployment = kind("Deployment");
  const configMap = kind("ConfigMap");
  const secret = kind("Secret");
  const service = kind("Service");
  const pdb = kind("PodDisruptionBudget");
  const template = deployment.spec!.template!;
  const container = template.spec.containers[0]!;
  const env: EnvEntry[] = container.env ?? [];
  const plainEnv = Object.fromEntries(env.filter((entry) => entry.value !== undefined).map((entry) => [entry.name, entry.value!]));
  const configText: string = configMap?.data?.["gateway.config.yaml"] ?? "";
  const fileSettings = parseYaml(configText) as Record<string, unknown>;

  it("holds a Deployment, Service, ConfigMap, Secret and PodDisruptionBudget, each with a name, all listed by the kustomization", () => {
    for (const kind of ["Deployment", "Service", "ConfigMap", "Secret", "PodDisruptionBudget", "Kustomization"]) expect(byKind.has(kind), kind).toBe(true);
    for (const [kind, doc] of byKind) {
      expect(doc.apiVersion, kind).toBeTruthy();
      if (kind !== "Kustomization") expect(doc.metadata?.name, kind).toBeTruthy();
    }
    expect(new Set(kind("Kustomization").resources)).toEqual(new Set(files.filter((name) => name !== "kustomization.yaml")));
  });

  it("runs 2 replicas whose pods the Service and the PodDisruptionBudget (minAvailable 1) select", () => {
    expect(deployment.spec!.replicas).toBe(2);
    const labels = template.metadata.labels;
    expect(deployment.spec!.selector!.matchLabels).toEqual(expect.objectContaining(labels));
    expect(labels).toEqual(expect.objectContaining(service.spec!.selector));
    expect(pdb.spec!.minAvailable).toBe(1);
    expect(labels).toEqual(expect.objectContaining(pdb.spec!.selector!.matchLabels));
    expect(deployment.spec!.strategy!.rollingUpdate.maxUnavailable).toBe(0);
    expect(container.ports.map((port) => port.name)).toContain(service.spec!.ports![0]!.targetPort);
  });

  it("probes readiness on /ready and liveness on /health, on the container's port, and sets resources", () => {
    const ports = new Set<string | number>(container.ports.flatMap((port) => [port.name, port.containerPort]));
    expect(container.readinessProbe.httpGet.path).toBe("/ready");
    expect(container.livenessProbe.httpGet.path).toBe("/health");
    expect(ports.has(container.readinessProbe.httpGet.port)).toBe(true);
    expect(ports.has(container.livenessProbe.httpGet.port)).toBe(true);
    expect(container.resources.requests.cpu).toBeTruthy();
    expect(container.resources.requests.memory).toBeTruthy();
    expect(container.resources.limits.memory).toBeTruthy();
  });

  it("gives the drain its time: terminationGracePeriodSeconds exceeds the preStop sleep plus SHUTDOWN_TIMEOUT_MS", () => {
    const shutdownMs = Number(plainEnv.SHUTDOWN_TIMEOUT_MS ?? fileSettings.shutdownTimeoutMs ?? 30_000);
    // The environment and the file agree, so neither misleads a reader.
    expect(shutdownMs).toBe(Number(fileSettings.shutdownTimeoutMs));
    const sleep = container.lifecycle.preStop.exec.command;
    expect(sleep[0]).toBe("sleep");
    const graceMs = template.spec.terminationGracePeriodSeconds * 1000;
    expect(graceMs).toBeGreaterThan(shutdownMs + Number(sleep[1]) * 1000);
  });

  it("mounts the ConfigMap as a directory (no subPath, so the ..data swap reaches the pod) and points GATEWAY_CONFIG at its file", () => {
    const volume = template.spec.volumes.find((entry) => entry.configMap?.name === configMap.metadata?.name);
    const mount = container.volumeMounts.find((entry) => entry.name === volume?.name);
    expect(mount).toBeDefined();
    expect(mount!.subPath).toBeUndefined();
    expect(plainEnv.GATEWAY_CONFIG).toBe(`${mount!.mountPath}/gateway.config.yaml`);
  });

  it("has a ConfigMap whose gateway.config.yaml the gateway accepts, with the Deployment's environment on top", () => {
    const config = parseConfig(fileSettings, schemaEnv(plainEnv));
    expect(config.production).toBe(true);
    expect(config.shutdownTimeoutMs).toBe(30_000);
  });

  it("names only settings the gateway reads, and takes every secret from the Secret", () => {
    for (const { name } of env) expect(KNOWN_NAMES.has(name), name).toBe(true);
    const keys = new Set(Object.keys(secret.stringData ?? secret.data ?? {}));
    const refs = env.flatMap((entry) => (entry.valueFrom?.secretKeyRef ? [{ name: entry.name, ref: entry.valueFrom.secretKeyRef }] : []));
    expect(refs.map((entry) => entry.name).sort()).toEqual(["GATEWAY_TOKENS", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY", "SILICONFLOW_API_KEY"]);
    for (const { ref } of refs) {
      expect(ref.name).toBe(secret.metadata?.name);
      expect(keys.has(ref.key), ref.key).toBe(true);
    }
    // Nothing secret in plain values or the ConfigMap.
    expect(Object.keys(plainEnv).filter((name) => /KEY|TOKEN|SECRET/.test(name))).toEqual([]);
    expect(configText).not.toMatch(/apiKey|tokens|secret/i);
    expect(plainEnv.IMAGE_STORE).toBe("s3");
    expect(plainEnv.REDIS_URL).toMatch(/^redis:\/\//);
    expect(env.find((entry) => entry.name === "REPLICA_ID")?.valueFrom?.fieldRef?.fieldPath).toBe("metadata.name");
  });
});

describe("deploy/docker-compose.yml and deploy/nginx.conf", () => {
  const [compose] = documents(path.join(DEPLOY, "docker-compose.yml")) as Array<{ services: Record<string, ComposeService> }>;
  const services = compose!.services;
  const gateways = ["gateway-a", "gateway-b"];
  const nginxConf = readFileSync(path.join(DEPLOY, "nginx.conf"), "utf8");
  /** `${NAME:-default}` as Compose expands it with NAME unset. */
  const expand = (value: unknown): string => String(value).replace(/\$\{[A-Z0-9_]+:-([^}]*)\}/g, "$1");

  it("runs two gateway replicas, Redis, MinIO with a bucket-creating init container, and nginx", () => {
    for (const name of [...gateways, "redis", "minio", "minio-init", "nginx"]) expect(services[name], name).toBeDefined();
    expect(services["minio-init"]!.entrypoint.join(" ")).toContain("mc mb");
    expect(expand(services["minio-init"]!.environment.S3_BUCKET)).toBe(expand(services["gateway-a"]!.environment.S3_BUCKET));
    expect(services.nginx!.volumes).toContain("./nginx.conf:/etc/nginx/conf.d/default.conf:ro");
  });

  it("gives each replica the shared store and Redis, a REPLICA_ID of its own, no published port, and settings the gateway accepts", () => {
    const ids = new Set<string>();
    for (const name of gateways) {
      const gateway = services[name]!;
      const env = Object.fromEntries(Object.entries(gateway.environment).map(([key, value]) => [key, expand(value)]));
      for (const key of Object.keys(env)) expect(KNOWN_NAMES.has(key), `${name}: ${key}`).toBe(true);
      expect(env).toMatchObject({ IMAGE_STORE: "s3", S3_ENDPOINT: "http://minio:9000", REDIS_URL: "redis://redis:6379" });
      ids.add(env.REPLICA_ID!);
      expect(gateway.ports).toBeUndefined();
      expect(gateway.depends_on["minio-init"]?.condition).toBe("service_completed_successfully");
      const config = parseConfig({}, schemaEnv(env));
      // Docker's SIGKILL waits longer than the drain.
      expect(Number.parseInt(gateway.stop_grace_period, 10) * 1000).toBeGreaterThan(config.shutdownTimeoutMs);
    }
    expect(ids.size).toBe(gateways.length);
  });

  it("points nginx's upstream at both replicas, with room for the largest upload and the slowest generation", () => {
    const servers = [...nginxConf.matchAll(/^\s*server\s+([\w.-]+):(\d+)/gm)].map((match) => match[1]);
    expect(servers).toEqual(gateways);
    const defaults = configSchema.parse({});
    const maxRequestBytes = defaults.uploads.maxFiles * defaults.uploads.maxBytes + 1_000_000;
    const bodyMb = Number(/client_max_body_size (\d+)m;/.exec(nginxConf)?.[1]);
    expect(bodyMb * 1024 * 1024).toBeGreaterThanOrEqual(maxRequestBytes);
    const readSeconds = Number(/proxy_read_timeout (\d+)s;/.exec(nginxConf)?.[1]);
    expect(readSeconds * 1000).toBeGreaterThan(defaults.siliconflow.timeoutMs);
    expect(nginxConf).toMatch(/proxy_request_buffering off;/);
    expect(nginxConf).toMatch(/proxy_set_header Host \$http_host;/);
  });

  it("has Prometheus scrape each replica", () => {
    const [prometheus] = documents(path.join(DEPLOY, "prometheus.yml")) as Array<{ scrape_configs: Array<{ static_configs: Array<{ targets: string[] }> }> }>;
    const targets = prometheus!.scrape_configs.flatMap((job) => job.static_configs.flatMap((entry) => entry.targets));
    for (const name of gateways) expect(targets).toContain(`${name}:4000`);
  });
});
