import { chmodSync, readdirSync, statSync } from "node:fs";

const OURS = /^(\.gitkeep|image_generation\.log.*)$/;

/**
 * The call log folder should be 0700. A new one is created so; an existing one that others can read is
 * tightened only when it evidently belongs to the gateway (it holds nothing but the call log and the
 * repository's placeholder): chmod-ing an operator's shared folder such as /var/log would be worse than
 * a warning. Returns a warning to log, if any.
 */
export function secureLogDir(dir: string): string | undefined {
  let mode: number;
  try {
    mode = statSync(dir).mode & 0o777;
  } catch {
    return undefined; // missing: the writer creates it 0700
  }
  if ((mode & 0o077) === 0) return undefined;
  const entries = readdirSync(dir);
  if (entries.every((name) => OURS.test(name))) {
    chmodSync(dir, 0o700);
    return undefined;
  }
  return `LOG_DIR ${dir} is readable by others (mode ${mode.toString(8)}); the call log file itself is 0600, consider chmod 700 on the folder`;
}
