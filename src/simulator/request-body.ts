import type { IncomingMessage } from "node:http";

/**
 * Request bodies, collected whole but bounded: generation bodies carry base64 images (tens of MB), and a
 * simulator must survive whatever a buggy client sends.
 */

export type BodyRead = { kind: "ok"; bytes: Buffer } | { kind: "too-large" } | { kind: "aborted" };

export function readBody(req: IncomingMessage, limit: number): Promise<BodyRead> {
  return new Promise((resolve) => {
    const declared = Number(req.headers["content-length"] ?? "0");
    if (declared > limit) {
      // Drain without keeping anything, so the client can finish sending and read the refusal.
      req.resume();
      resolve({ kind: "too-large" });
      return;
    }
    const chunks: Buffer[] = [];
    let total = 0;
    let overflow = false;
    req.on("data", (chunk: Buffer) => {
      if (overflow) return;
      total += chunk.length;
      if (total > limit) {
        overflow = true;
        chunks.length = 0;
        resolve({ kind: "too-large" });
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (!overflow) resolve({ kind: "ok", bytes: Buffer.concat(chunks, total) });
    });
    // After "end" these settle nothing: a promise resolves once.
    req.on("error", () => resolve({ kind: "aborted" }));
    req.on("close", () => resolve({ kind: "aborted" }));
  });
}

export type JsonBody = { kind: "object"; value: Record<string, unknown> } | { kind: "invalid" } | { kind: "not-object" };

export function parseJsonBody(bytes: Buffer): JsonBody {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString("utf8"));
  } catch {
    return { kind: "invalid" };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { kind: "not-object" };
  return { kind: "object", value: value as Record<string, unknown> };
}
