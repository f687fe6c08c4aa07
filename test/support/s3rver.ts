import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

/** The part of s3rver (a CommonJS package without types) the tests use. */
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance;

export interface RunningS3 {
  /** e.g. `http://127.0.0.1:41234` */
  endpoint: string;
  /** The gateway's settings for this server and `bucket` (path-style, s3rver's fixed credentials). */
  settings(bucket: string, prefix?: string): Record<string, unknown>;
  close(): Promise<void>;
}

/** A real S3-protocol server on a free loopback port, its objects in a temporary folder; `buckets` exist from the start. */
export async function startS3(buckets: readonly string[]): Promise<RunningS3> {
  const S3rver = createRequire(import.meta.url)("s3rver") as S3rverClass;
  const directory = await mkdtemp(path.join(tmpdir(), "s3rver-"));
  const server = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory, configureBuckets: buckets.map((name) => ({ name })) });
  const address = await server.run();
  const endpoint = `http://127.0.0.1:${address.port}`;
  return {
    endpoint,
    settings: (bucket, prefix = "") => ({
      imageStore: "s3",
      s3: { bucket, endpoint, region: "us-east-1", prefix, forcePathStyle: true, accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
    }),
    async close() {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
