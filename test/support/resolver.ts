import type { LookupAddress } from "node:dns";
import type { Resolver } from "../../src/upstream/output-address.js";

/**
 * Names resolved from a table, never by DNS: a test must not reach a real network. A name missing from
 * the table fails as DNS would.
 */
export function tableResolver(table: Record<string, string[]>, asked: string[] = []): Resolver {
  const resolve = (hostname: string, options: unknown, callback: (...args: unknown[]) => void) => {
    asked.push(hostname);
    const addresses = table[hostname];
    if (!addresses) {
      const error = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
      return process.nextTick(callback, error, "", 0);
    }
    const all: LookupAddress[] = addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
    if ((options as { all?: boolean }).all) return process.nextTick(callback, null, all);
    process.nextTick(callback, null, all[0]!.address, all[0]!.family);
  };
  // dns.lookup's overloads cannot be written as one function type; the policy calls it with (name, options, callback).
  return resolve as unknown as Resolver;
}
