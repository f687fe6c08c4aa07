/**
 * Masking of keys and scrubbing of text that may end up in a log, an error or a response.
 *
 * Every string that came from outside (upstream error bodies, exception messages) passes through
 * `sanitizeMessage` before it is logged or returned: upstream services are known to echo the
 * Authorization header or the request body in their errors.
 */

/** What a missing, empty or too-short key is shown as: the contract shows no character of it. */
export const MASK = "****";

/**
 * Keys shorter than this are shown as `****` alone: first 4 + last 4 of a short key would give
 * most of it away (the design's rule).
 */
export const MIN_MASKABLE_KEY_LENGTH = 12;

/**
 * `sk-abcdefghijklmnop` → `sk-a****mnop`; a key shorter than 12 characters → `****`.
 * A missing or empty key is also `****`, so a log line never shows whether a key was configured;
 * `provider` in the record says that. Counts UTF-16 code units: API keys are ASCII.
 */
export function maskApiKey(key: string | undefined | null): string {
  if (key == null || key.length < MIN_MASKABLE_KEY_LENGTH) return MASK;
  return `${key.slice(0, 4)}${MASK}${key.slice(-4)}`;
}

// Any bearer token is masked, also one we were not told about (a client's key echoed upstream).
const BEARER_TOKEN = /\b(Bearer\s+)([^\s"',;]+)/gi;
// SiliconFlow (and OpenAI-style) keys: `sk-` followed by a long run; 16+ avoids words like "sk-learn". Not
// after a letter ("task-…"), but after a digit: in a URL-encoded text a key follows `%20` or `%3D`.
const SK_KEY = /(?<![A-Za-z])sk-[A-Za-z0-9_-]{16,}/g;

/**
 * Replaces every occurrence of each secret, of `Bearer <anything>` and of anything shaped like an
 * `sk-…` key by its masked form. Empty secrets are ignored (they would match everywhere); a short
 * secret is still replaced wherever it occurs, even inside a word: a leak is worse than a mangled
 * message.
 */
export function redactSecrets(text: string, secrets: readonly string[] = []): string {
  let out = text;
  // Longest first, so a secret that contains another is masked whole rather than in pieces.
  const ordered = secrets.filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
  for (const secret of ordered) {
    const masked = maskApiKey(secret);
    // A replacer function, not a string: a key may contain `$&` or `$1`, which replaceAll would expand.
    out = out.replaceAll(secret, () => masked);
  }
  out = out.replace(BEARER_TOKEN, (_m, prefix: string, token: string) =>
    token.includes(MASK) ? `${prefix}${token}` : `${prefix}${maskApiKey(token)}`,
  );
  out = out.replace(SK_KEY, (token) => (token.includes(MASK) ? token : maskApiKey(token)));
  return out;
}

// Long enough that no ordinary word, id or hash (a sha512 in base64 is 88 characters) matches.
const MIN_ELIDED_BASE64 = 200;
const DATA_URL = /data:([\w.+-]+\/[\w.+-]+)?(;[\w-]+=[\w.-]+)*;base64,[A-Za-z0-9+/=_-]*/g;
const BASE64_RUN = new RegExp(`[A-Za-z0-9+/]{${MIN_ELIDED_BASE64},}={0,2}`, "g");

/**
 * Replaces data URLs and long base64 runs by a short note with their length: an upstream error
 * that echoes the request body must not put an image into the log or the response.
 */
export function redactImageData(text: string): string {
  return text
    .replace(DATA_URL, (m, mime: string | undefined) => {
      const payload = m.length - m.indexOf(",") - 1;
      return `data:${mime ?? ""};base64,[${payload} chars elided]`;
    })
    .replace(BASE64_RUN, (m) => `[base64, ${m.length} chars elided]`);
}

/** Both scrubs: what an upstream or exception message goes through before it is logged or returned. */
export function sanitizeMessage(text: string, secrets: readonly string[] = []): string {
  return redactImageData(redactSecrets(text, secrets));
}
