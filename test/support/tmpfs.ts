import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

/**
 * A small real filesystem that a test can fill up, for the disk-full cases: a tmpfs mounted in a fresh
 * folder. Mounting needs root (or CAP_SYS_ADMIN); where it cannot be done the tests skip with a message,
 * except where REQUIRE_TMPFS=1 (CI sets it), where that is a failure.
 */
export const tmpfsRequired = process.env.REQUIRE_TMPFS === "1";

export interface Tmpfs {
  /** The mount point. */
  dir: string;
  /**
   * Writes a filler file that takes every free page, so a write that needs a new page fails with ENOSPC.
   * tmpfs counts pages: an existing file whose last page has room can still grow by that much.
   */
  fill(): void;
  /** Deletes the filler: the space is back. */
  free(): void;
  unmount(): void;
}

function tryMount(dir: string, sizeBytes: number): string | undefined {
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${sizeBytes},mode=0700`, "tmpfs", dir], { stdio: "pipe" });
    return undefined;
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    return stderr || (error as Error).message;
  }
}

/** Whether a tmpfs can be mounted here; the reason when not. Probed once per test file. */
let probed: string | null | undefined;
export function tmpfsUnavailableReason(): string | null {
  if (probed !== undefined) return probed;
  const dir = mkdtempSync(path.join(tmpdir(), "tmpfs-probe-"));
  const reason = tryMount(dir, 1024 * 1024);
  if (reason === undefined) execFileSync("umount", [dir]);
  rmSync(dir, { recursive: true, force: true });
  probed = reason === undefined ? null : `cannot mount a tmpfs here (${reason}); the disk-full tests need root`;
  if (probed && tmpfsRequired) throw new Error(`REQUIRE_TMPFS=1 but ${probed}`);
  return probed;
}

export function mountTmpfs(sizeBytes: number): Tmpfs {
  const dir = mkdtempSync(path.join(tmpdir(), "tmpfs-"));
  const reason = tryMount(dir, sizeBytes);
  if (reason !== undefined) throw new Error(`cannot mount a tmpfs at ${dir}: ${reason}`);
  const filler = path.join(dir, ".filler");
  return {
    dir,
    fill() {
      // One big write, then byte-sized ones until the device says no: tmpfs rounds to pages.
      try {
        writeFileSync(filler, Buffer.alloc(sizeBytes));
      } catch {
        // ENOSPC expected: what fitted was written.
      }
      for (let i = 0; i < 4096; i++) {
        try {
          writeFileSync(filler, Buffer.alloc(4096), { flag: "a" });
        } catch {
          return;
        }
      }
    },
    free() {
      rmSync(filler, { force: true });
    },
    unmount() {
      try {
        execFileSync("umount", ["-l", dir], { stdio: "pipe" });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
