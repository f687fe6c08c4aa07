import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { imageSlots, multipartBody, startHarness, type Harness } from "./support/harness.js";
import { dataUrlBytes, solidPng } from "./support/images.js";
import { pollJob, SUBMIT, type Job } from "./support/jobs.js";
import { redisAvailable, startRedis, type TestRedis } from "./support/redis.js";
import { startS3, type RunningS3 } from "./support/s3rver.js";

async function objectKeys(s3: RunningS3, bucket: string): Promise<string[]> {
  const client = new S3Client({ endpoint: s3.endpoint, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } });
  try {
    const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
    return (listed.Contents ?? []).map((object) => object.Key!).sort();
  } finally {
    client.destroy();
  }
}

describe.skipIf(!redisAvailable)("a job's prepared inputs in an S3 store, between replicas", () => {
  let s3: RunningS3;
  let redis: TestRedis;
  let submitter: Harness;
  let worker: Harness | undefined;

  beforeAll(async () => {
    s3 = await startS3(["shared"]);
    redis = await startRedis();
    submitter = await startHarness({ config: { ...s3.settings("shared", "gw"), redisUrl: redis.url, jobs: { workers: false } } });
  });
  afterAll(async () => {
    await worker?.close();
    await submitter?.close();
    await redis?.kill();
    await s3?.close();
  });

  it("wait under job-inputs/ while queued, are what the other replica sends, and are deleted when the job ends", async () => {
    const upload = await solidPng(320, 240, "#336699");
    const response = await fetch(submitter.graphqlUrl, {
      method: "POST",
      headers: { "apollo-require-preflight": "true" },
      body: multipartBody(SUBMIT, { input: { model: "Qwen/Qwen-Image-Edit", prompt: "edit", images: imageSlots(1) } }, [{ path: "variables.input.images.0", data: upload, type: "image/png" }]),
    });
    const body = (await response.json()) as { data?: { submitGeneration: Job }; errors?: unknown };
    expect(body.errors).toBeUndefined();
    const id = body.data!.submitGeneration.id;
    expect(await objectKeys(s3, "shared")).toEqual([`gw/job-inputs/${id}-0`]);

    worker = await startHarness({ config: { ...s3.settings("shared", "gw"), redisUrl: redis.url } });
    const done = await pollJob(worker.graphqlUrl, id, ["SUCCEEDED", "FAILED"]);
    expect(done.status).toBe("SUCCEEDED");
    const sent = dataUrlBytes(worker.simulator.received.at(-1)!.body.image);
    expect(Buffer.compare(sent.bytes, upload)).toBe(0);
    const keys = await objectKeys(s3, "shared");
    expect(keys.filter((key) => key.includes("job-inputs"))).toEqual([]);
    expect(keys.filter((key) => key.startsWith("gw/images/"))).toHaveLength(1);
  });
});
