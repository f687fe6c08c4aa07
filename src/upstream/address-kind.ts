import ipaddr from "ipaddr.js";

/**
 * The few kinds of network address the output-URL policy tells apart. ipaddr.js keeps the registry of
 * special ranges; this only folds its range names into what the policy decides on.
 */
export type AddressKind = "public" | "loopback" | "private" | "link-local" | "unspecified" | "reserved";

const KIND_OF_RANGE: Readonly<Record<string, AddressKind>> = {
  unicast: "public",
  loopback: "loopback",
  private: "private",
  uniqueLocal: "private",
  // Shared address space (100.64.0.0/10) sits behind the provider's NAT: as reachable as a private network.
  carrierGradeNat: "private",
  // Site-local was withdrawn, but a network that still routes it uses it as a private one.
  deprecatedSiteLocal: "private",
  linkLocal: "link-local",
  unspecified: "unspecified",
};

/**
 * The kind of a literal IPv4 or IPv6 address (URL brackets and a zone id allowed); undefined for a host
 * name. Every range ipaddr.js names that is not listed above (multicast, broadcast, documentation,
 * benchmarking, 6to4, Teredo, ...) is "reserved": nothing an image store is served from.
 */
export function addressKind(address: string): AddressKind | undefined {
  const bare = (address.startsWith("[") && address.endsWith("]") ? address.slice(1, -1) : address).replace(/%.*$/, "");
  // isValidFourPartDecimal: "127.1" or "0x7f.1" are names here; URL parsing has already turned such a
  // host into dotted decimal, and a resolver answers dotted decimal.
  if (!ipaddr.IPv4.isValidFourPartDecimal(bare) && !ipaddr.IPv6.isValid(bare)) return undefined;
  // process() turns an IPv4-mapped IPv6 address (::ffff:a.b.c.d) into the IPv4 address it reaches.
  const parsed = ipaddr.process(bare);
  const range = parsed.range();
  if (range === "rfc6052" && parsed.kind() === "ipv6") {
    // NAT64 reaches the IPv4 address in the last 32 bits; DNS64 gives public hosts such addresses too.
    return KIND_OF_RANGE[new ipaddr.IPv4(parsed.toByteArray().slice(12)).range()] ?? "reserved";
  }
  return KIND_OF_RANGE[range] ?? "reserved";
}

/** A host name that is loopback by definition (RFC 6761), so resolving it is not needed to know. */
export function isLoopbackName(host: string): boolean {
  const name = host.toLowerCase().replace(/\.$/, "");
  return name === "localhost" || name.endsWith(".localhost");
}
