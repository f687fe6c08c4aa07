/**
 * Cutting client-supplied text short before it is logged or echoed. Anyone can send a megabyte of
 * text without a token; a refusal must not copy it into the call log, the application log or an
 * error message. One shape everywhere: the kept start, then `…[truncated, N chars]` with the length
 * of the original.
 *
 * Lengths are Unicode code points, as MAX_PROMPT_LENGTH counts them: a prompt the gateway accepts is
 * never cut, whatever its script.
 */

/** What an error message quotes of a client's value (a model name, say). */
export const ECHO_MAX_CHARS = 100;
/** Short client strings in a log line: model, image size, operation name, address. */
export const SHORT_FIELD_MAX_CHARS = 256;
/** Error messages in a log line or a response. */
export const MESSAGE_MAX_CHARS = 2000;

/** Whether `text` is longer than `max` code points, walking no further than needed. */
export function exceedsCodePoints(text: string, max: number): boolean {
  // UTF-16 length bounds the code point count from above, so short texts need no walk.
  if (text.length <= max) return false;
  let count = 0;
  for (const _ of text) {
    count += 1;
    if (count > max) return true;
  }
  return false;
}

/** `shown` cut to `max` code points and marked, never splitting a surrogate pair; `original` gives the length. */
function cut(original: string, shown: string, max: number): string {
  let end = 0;
  let count = 0;
  for (const char of shown) {
    if (count === max) break;
    end += char.length;
    count += 1;
  }
  let originalChars = 0;
  for (const _ of original) originalChars += 1;
  return `${shown.slice(0, end)}…[truncated, ${originalChars} chars]`;
}

/** `text` itself when it has at most `max` code points, else its first `max` and the marker. */
export function truncateText(text: string, max: number): string {
  return exceedsCodePoints(text, max) ? cut(text, text, max) : text;
}

/**
 * Like `truncateText` for `shown`, a masked form of `original`: whether to cut and the length reported
 * are the original's (masking changes the length by a few characters, and a short text stays whole).
 */
export function truncateScrubbed(original: string, shown: string, max: number): string {
  return exceedsCodePoints(original, max) ? cut(original, shown, max) : shown;
}

/** A client's value quoted in an error message: `"Qwen/…[truncated, 900000 chars]"`. */
export function quoteInput(value: string, max = ECHO_MAX_CHARS): string {
  return `"${truncateText(value, max)}"`;
}
