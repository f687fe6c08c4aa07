import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson, startHarness, type Harness } from "./support/harness.js";

const MODELS = /* GraphQL */ `{ models { id source } }`;

function modelsYaml(id: string): string {
  return `models:\n  - id: ${id}\n    imageSizes: ["512x512"]\n`;
}

/** Waits until the gateway lists `id` as configured by the file, through its GraphQL API. */
async function expectConfigured(h: Harness, id: string): Promise<void> {
  await expect
    .poll(
      async () => {
        const { body } = await postJson<{ models: Array<{ id: string; source: string }> }>(h.graphqlUrl, MODELS);
        return body.data?.models.find((m) => m.id === id)?.source;
      },
      { timeout: 10_000, interval: 50 },
    )
    .toBe("CONFIG");
}

describe("the configuration file is reloaded however it is replaced", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ configYaml: modelsYaml("acme/First-1") });
  });
  afterAll(async () => {
    await h.close();
  });

  it("written in place", async () => {
    await expectConfigured(h, "acme/First-1");
    await writeFile(h.configFile!, modelsYaml("acme/InPlace-2"));
    await expectConfigured(h, "acme/InPlace-2");
  });

  it("renamed over", async () => {
    const next = `${h.configFile!}.new`;
    await writeFile(next, modelsYaml("acme/Renamed-3"));
    await rename(next, h.configFile!);
    await expectConfigured(h, "acme/Renamed-3");
  });
});

describe("a Kubernetes ConfigMap volume: the file is a symlink into ..data, swapped to a new folder", () => {
  let root: string;
  let h: Harness;
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), "gateway-configmap-"));
    await mkdir(path.join(root, "..2026_01_01_00_00_00.1"));
    await writeFile(path.join(root, "..2026_01_01_00_00_00.1", "gateway.config.yaml"), modelsYaml("acme/Mounted-4"));
    await symlink("..2026_01_01_00_00_00.1", path.join(root, "..data"));
    await symlink("..data/gateway.config.yaml", path.join(root, "gateway.config.yaml"));
    h = await startHarness({ configPath: path.join(root, "gateway.config.yaml") });
  });
  afterAll(async () => {
    await h.close();
    await rm(root, { recursive: true, force: true });
  });

  it("picks up the new folder's file, as the kubelet swaps it", async () => {
    await expectConfigured(h, "acme/Mounted-4");
    // What the kubelet does: a new timestamped folder, a temporary link to it renamed over ..data, the old folder removed.
    await mkdir(path.join(root, "..2026_01_01_00_01_00.2"));
    await writeFile(path.join(root, "..2026_01_01_00_01_00.2", "gateway.config.yaml"), modelsYaml("acme/Swapped-5"));
    await symlink("..2026_01_01_00_01_00.2", path.join(root, "..data_tmp"));
    await rename(path.join(root, "..data_tmp"), path.join(root, "..data"));
    await rm(path.join(root, "..2026_01_01_00_00_00.1"), { recursive: true });
    await expectConfigured(h, "acme/Swapped-5");
  });
});
