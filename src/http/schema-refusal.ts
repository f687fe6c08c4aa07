import { MESSAGE_MAX_CHARS, truncateText } from "../observability/truncate.js";

/** One entry of Fastify's schema validation error (Ajv's). */
interface ValidationEntry {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: { missingProperty?: string; additionalProperty?: string };
}

/** The field a schema refusal is about: Ajv points at it, or names it as missing. */
function fieldOf(entry: ValidationEntry): string | null {
  if (entry.params?.missingProperty) return entry.params.missingProperty;
  if (entry.params?.additionalProperty) return entry.params.additionalProperty;
  const path = (entry.instancePath ?? "").replace(/^\//, "").split("/")[0];
  return path ? path.replace(/~1/g, "/").replace(/~0/g, "~") : null;
}

/**
 * A request a REST face's route schema refused, by its first violation: the field at fault, named as the
 * request names it (the face maps no names: its schema already speaks them), and a message saying what is
 * wrong with it. `whole` names the request itself, for a violation of no one field.
 */
export function schemaRefusalOf(validation: unknown, whole: string): { field: string | null; message: string } | undefined {
  const entry = (Array.isArray(validation) ? (validation as ValidationEntry[]) : [])[0];
  if (entry === undefined) return undefined;
  const field = fieldOf(entry);
  const message = entry.keyword === "required" ? `${field} is required` : `${field ?? whole} ${entry.message ?? "is not valid"}`;
  return { field, message: truncateText(message, MESSAGE_MAX_CHARS) };
}
