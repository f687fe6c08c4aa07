import { addressKind, isLoopbackName, type AddressKind } from "../upstream/address-kind.js";
import { checkOutputUrl, guardedLookup, refusalIn, type OutputAddressPolicy } from "../upstream/output-address.js";

/**
 * Where webhooks may go. A submitter chooses the URL, so without a rule the gateway would POST from inside
 * its own network on anybody's behalf (SSRF): only public addresses, unless the operator allows the private
 * kinds for receivers on the same network. The address classification and the connect-time guard are the
 * ones the output downloads use.
 */
export function webhookAddressPolicy(allowPrivate: boolean, resolve?: OutputAddressPolicy["resolve"]): OutputAddressPolicy {
  // Unspecified and reserved addresses stay refused either way: nothing receives webhooks there.
  const allowed = new Set<AddressKind>(allowPrivate ? ["public", "private", "loopback", "link-local"] : ["public"]);
  return { allowed, resolve };
}

const MAX_URL_LENGTH = 2048;

/**
 * Why `url` may not receive webhooks, in words for the submitter; undefined when it may. A host name is
 * resolved now, so a name of a private network is refused at submission rather than at delivery; the
 * delivery checks again when it connects (the name may have been rebound since).
 */
export async function webhookUrlRefusal(url: string, policy: OutputAddressPolicy, resolveTimeoutMs: number): Promise<string | undefined> {
  if (url.length > MAX_URL_LENGTH) return `it is longer than ${MAX_URL_LENGTH} characters`;
  const literal = checkOutputUrl(url, policy.allowed);
  if (literal) return webhookWords(literal.reason);
  const host = new URL(url).hostname.replace(/^\[(.*)\]$/, "$1");
  // A literal address was checked above, and is never looked up.
  if (addressKind(host) !== undefined) return undefined;
  if (isLoopbackName(host) && !policy.allowed.has("loopback")) return `its host ${host} is a loopback name`;
  const lookup = guardedLookup(policy);
  let timer: NodeJS.Timeout | undefined;
  const resolved = new Promise<string | undefined>((resolve) => {
    lookup(host, { all: true }, (error, addresses) => {
      const refused = refusalIn(error);
      if (refused) return resolve(webhookWords(refused.reason));
      if (error) return resolve(`its host ${host} does not resolve (${error.code ?? error.message})`);
      // A name that resolves to nothing is nowhere to deliver to.
      resolve(Array.isArray(addresses) && addresses.length === 0 ? `its host ${host} resolves to no address` : undefined);
    });
  });
  const timedOut = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`its host ${host} could not be resolved within ${resolveTimeoutMs} ms`), resolveTimeoutMs);
  });
  try {
    return await Promise.race([resolved, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/** A refusal of the address guard, which is worded for downloads, as said of a webhook. */
export function webhookWords(reason: string): string {
  return reason.replace("are fetched", "are called");
}

/** The URL as logged: no credentials, no query (either may hold the receiver's secret). */
export function shownWebhookUrl(url: string): string {
  try {
    const { protocol, host, pathname } = new URL(url);
    return `${protocol}//${host}${pathname}`;
  } catch {
    return "(not a URL)";
  }
}
