import { afterEach, describe, expect, it } from "vitest";
import { GENERATE, postJson, startHarness, type Harness } from "./support/harness.js";
import { pollJob, submitJob } from "./support/jobs.js";
import { mountTmpfs, tmpfsUnavailableReason, type Tmpfs } from "./support/tmpfs.js";
import { waitFor } from "./support/wait.js";

const unavailable = tmpfsUnavailableReason();
if (unavailable) console.warn(`jobs disk-full test skipped: ${unavailable}`);

const TEXT = { model: "Kwai-Kolors/Kolors", prompt: "the job", imageSize: "768x1024" };

describe.skipIf(unavailable)("a job about to be sent while the call log cannot be written", () => {
  let disk: Tmpfs | undefined;
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    disk?.unmount();
  });

  it("ends FAILED with CALL_LOG_UNAVAILABLE and nothing sent, as a new generateImages would be refused; its line is kept and written once the disk has room", async () => {
    disk = mountTmpfs(256 * 1024);
    h = await startHarness({ config: { logDir: disk.dir, siliconflow: { maxConcurrency: 1 } } });
    const harness = h;
    // A generateImages holds the only upstream slot for a while: the job waits for it.
    h.simulator.addFault({ fault: { kind: "latency", ms: 1_500 }, times: 1 });
    const holding = postJson(h.graphqlUrl, GENERATE, { input: { ...TEXT, prompt: "holds the slot" } });
    await waitFor(async () => (harness.simulator.received.length === 1 ? true : undefined), 10_000);
    const id = (await submitJob(h.graphqlUrl, TEXT)).body.data!.submitGeneration.id;
    await pollJob(h.graphqlUrl, id, ["RUNNING"], 10_000);

    disk.fill();
    // A refused call's line is the first write to fail: from then on the log is unavailable.
    await postJson(h.graphqlUrl, GENERATE, { input: { model: "no/such-model", prompt: "x" } });
    expect((await holding).body.errors).toBeUndefined();

    const done = await pollJob(h.graphqlUrl, id, ["FAILED", "SUCCEEDED"], 10_000);
    expect(done).toMatchObject({ status: "FAILED", error: { code: "CALL_LOG_UNAVAILABLE" } });
    expect(h.simulator.received.map((r) => r.body.prompt)).toEqual(["holds the slot"]);

    disk.free();
    const line = await waitFor(async () => (await harness.logLines()).find((l) => l.job_id === id), 15_000);
    expect(line).toMatchObject({ status: "failed", error_code: "CALL_LOG_UNAVAILABLE", upstream_attempts: 0 });
  }, 40_000);
});
