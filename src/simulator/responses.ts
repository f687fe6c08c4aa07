import { STATUS_CODES, type ServerResponse } from "node:http";

/**
 * SiliconFlow's error bodies are not uniform (docs/siliconflow.md, "Errors"): some statuses carry a
 * `{code, message, data}` object, some a bare JSON string, 404 plain text. A client must cope with all of
 * them, so the simulator reproduces each shape rather than one tidy format.
 */
export interface ErrorReply {
  status: number;
  /** Raw body text, sent as is. */
  body: string;
  contentType: string;
}

const jsonType = "application/json; charset=utf-8";
const textType = "text/plain; charset=utf-8";

export function jsonReply(status: number, value: unknown): ErrorReply {
  return { status, body: JSON.stringify(value), contentType: jsonType };
}

/** A `code` 200xx error in SiliconFlow's usual envelope (HTTP 400). */
export function valueError(message: string): ErrorReply {
  return jsonReply(400, { code: 20015, message, data: null });
}

export const modelNotFound: ErrorReply = jsonReply(400, {
  code: 20012,
  message: "Model does not exist. Please check it carefully.",
  data: null,
});

export const invalidToken: ErrorReply = jsonReply(401, "Invalid token");

export const pageNotFound: ErrorReply = { status: 404, body: "404 page not found", contentType: textType };

// The real service sits behind nginx, whose refusal of an oversized body is an HTML page.
export const payloadTooLarge: ErrorReply = {
  status: 413,
  body:
    "<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n" +
    "<center><h1>413 Request Entity Too Large</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
  contentType: "text/html",
};

/** The body SiliconFlow usually sends for a status, used when a status fault names none. */
export function defaultErrorReply(status: number): ErrorReply {
  switch (status) {
    case 400:
      return jsonReply(400, { code: 20015, message: "Invalid parameter", data: null });
    case 401:
      return invalidToken;
    case 403:
      return jsonReply(403, "Forbidden");
    case 404:
      return pageNotFound;
    case 413:
      return payloadTooLarge;
    case 429:
      return jsonReply(429, {
        message: "Request was rejected due to rate limiting. If you want more, please contact us.",
        data: null,
      });
    case 500:
      return jsonReply(500, { code: 50000, message: "Internal server error" });
    case 503:
      return jsonReply(503, { code: 50505, message: "Model service overloaded. Please try again later." });
    case 504:
      return jsonReply(504, "Gateway Timeout");
    default:
      return jsonReply(status, STATUS_CODES[status] ?? "Error");
  }
}

/** Content type for a fault's raw body: JSON when it parses as JSON, so clients see what they would. */
export function guessContentType(body: string): string {
  try {
    JSON.parse(body);
    return jsonType;
  } catch {
    return textType;
  }
}

export function send(
  res: ServerResponse,
  status: number,
  body: string | Buffer,
  contentType: string,
  headers: Record<string, string> = {},
): void {
  // The client may have gone (hang faults, aborted fetches, close()): writing then would only throw.
  if (res.destroyed || res.writableEnded) return;
  const payload = typeof body === "string" ? Buffer.from(body, "utf8") : body;
  const all: Record<string, string> = { "content-type": contentType, "content-length": String(payload.length) };
  // Lower-cased so a fault's own "Content-Type" replaces the default instead of doubling it.
  for (const [name, value] of Object.entries(headers)) all[name.toLowerCase()] = value;
  res.writeHead(status, all);
  res.end(payload);
}

export function sendReply(res: ServerResponse, reply: ErrorReply, headers: Record<string, string> = {}): void {
  send(res, reply.status, reply.body, reply.contentType, headers);
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  send(res, status, JSON.stringify(value), jsonType, headers);
}

/** Object-store style refusal for output URLs (they are pre-signed links, not API calls). */
export function objectStoreError(status: 403 | 404, code: string, message: string): ErrorReply {
  return {
    status,
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`,
    contentType: "application/xml",
  };
}
