import { lookup as systemLookup, type LookupAddress, type LookupAllOptions, type LookupOneOptions } from "node:dns";
import type { LookupFunction } from "node:net";
import { addressKind, isLoopbackName, type AddressKind } from "./address-kind.js";

/**
 * Where SiliconFlow's output URLs may point. An answer naming any host would otherwise make the gateway
 * fetch from the machine's own services, its network or a cloud metadata endpoint (SSRF), so only http(s)
 * is fetched, and only from public addresses, plus the upstream's own kind of network when that is
 * loopback or private (the simulator on 127.0.0.1, a relay on the same network). Link-local (cloud
 * metadata at 169.254.169.254), unspecified and reserved addresses are never fetched from.
 */
export interface OutputAddressPolicy {
  allowed: ReadonlySet<AddressKind>;
  /** `dns.lookup`'s shape, so tests resolve names without DNS. */
  resolve?: Resolver;
}

export type Resolver = typeof systemLookup;

const KIND_WORDS: Record<Exclude<AddressKind, "public">, string> = {
  loopback: "a loopback address",
  private: "a private address",
  "link-local": "a link-local address",
  unspecified: "an unspecified address",
  reserved: "a reserved address",
};

/**
 * The policy for an upstream at `baseUrl`: its own kind of network is allowed when that is loopback or
 * private. A host name other than localhost counts as public: outputs on private addresses then need the
 * upstream to be configured by address.
 */
export function policyForUpstream(baseUrl: string): OutputAddressPolicy {
  const allowed = new Set<AddressKind>(["public"]);
  let host: string;
  try {
    host = new URL(baseUrl).hostname;
  } catch {
    return { allowed };
  }
  const kind = isLoopbackName(host) ? "loopback" : addressKind(host);
  if (kind === "loopback" || kind === "private") allowed.add(kind);
  return { allowed };
}

/** An output URL the gateway will not fetch from, and why, in words a client can act on. */
export class OutputRefused extends Error {
  constructor(readonly reason: string) {
    super(`output URL refused: ${reason}`);
    this.name = "OutputRefused";
  }
}

/** The refusal inside an error an HTTP client wrapped it in (got wraps what `lookup` or a hook throws). */
export function refusalIn(error: unknown): OutputRefused | undefined {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 5; cause = cause.cause, depth += 1) {
    if (cause instanceof OutputRefused) return cause;
  }
  return undefined;
}

/** Text from SiliconFlow's answer: cut before it goes into a message. */
function shown(text: string): string {
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

function refusedAddress(host: string, address: string, allowed: ReadonlySet<AddressKind>): OutputRefused | undefined {
  // A resolver only answers addresses; anything else is not somewhere to connect to.
  const kind = addressKind(address) ?? "reserved";
  if (allowed.has(kind)) return undefined;
  const words = KIND_WORDS[kind as Exclude<AddressKind, "public">];
  return new OutputRefused(address === host ? `its host ${shown(host)} is ${words}` : `its host ${shown(host)} resolves to ${address}, ${words}`);
}

/**
 * What can be decided before connecting: the scheme, and a host given as a literal address (which is
 * never looked up, so `guardedLookup` would not see it). A host name is checked when it is resolved.
 */
export function checkOutputUrl(url: string, allowed: ReadonlySet<AddressKind>): OutputRefused | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return new OutputRefused("it is not a valid URL");
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    return new OutputRefused(`its scheme is ${shown(parsed.protocol)} and only http and https are fetched`);
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  return addressKind(host) === undefined ? undefined : refusedAddress(host, host, allowed);
}

/**
 * A `lookup` for the download's connection: the name is resolved as usual, and refused when any address
 * it resolves to is not allowed. Checking the addresses the socket will connect to, at connect time,
 * catches a name that points at a private network and a name rebound between answer and download.
 */
export function guardedLookup({ allowed, resolve = systemLookup }: OutputAddressPolicy): LookupFunction {
  return (hostname, options, callback) => {
    const answer = (error: NodeJS.ErrnoException | null, result: string | LookupAddress[], family?: number) => {
      if (error) return callback(error, "", 0);
      const addresses = typeof result === "string" ? [{ address: result, family: family ?? 0 }] : result;
      for (const { address } of addresses) {
        const refusal = refusedAddress(hostname, address, allowed);
        if (refusal) return callback(refusal, "", 0);
      }
      if (typeof result === "string") return callback(null, result, family ?? 4);
      // net asks for every address when it tries them in turn (autoSelectFamily); LookupFunction's type
      // names only the one-address callback.
      (callback as unknown as (error: null, addresses: LookupAddress[]) => void)(null, result);
    };
    if (options.all) resolve(hostname, options as LookupAllOptions, answer);
    else resolve(hostname, options as LookupOneOptions, answer);
  };
}
