import { ErrorCode } from "../errors.js";
import { MESSAGE_MAX_CHARS, truncateText } from "../observability/truncate.js";

/** Why a multipart form could not be read: the transport's own refusal, before the service sees the call. */
export class FormRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly field: string | null = null,
  ) {
    super(message);
    this.name = "FormRefusal";
  }
}

/**
 * The multipart parser's own failures (its limits, a reserved field name, a body with no boundary or cut
 * short) as the client's fault, for both REST faces: busboy throws plain errors with no status, which a
 * face's error handler would otherwise answer 500, logged as the gateway's failure and left out of the
 * client's refusal budget.
 */
export function formRefusalOf(error: unknown): FormRefusal {
  const status = (error as { statusCode?: number } | null)?.statusCode;
  const code = (error as { code?: string } | null)?.code;
  if (code === "FST_PARTS_LIMIT" || code === "FST_FIELDS_LIMIT" || code === "FST_FILES_LIMIT") {
    return new FormRefusal(413, ErrorCode.PAYLOAD_TOO_LARGE, "The form has too many parts");
  }
  if (code === "FST_PROTO_VIOLATION") return new FormRefusal(400, ErrorCode.BAD_USER_INPUT, "A form field has a reserved name");
  if (status === 413) return new FormRefusal(413, ErrorCode.PAYLOAD_TOO_LARGE, "The form is too large");
  const message = truncateText(error instanceof Error ? error.message : "unreadable", MESSAGE_MAX_CHARS);
  return new FormRefusal(400, ErrorCode.BAD_USER_INPUT, `The multipart form could not be read: ${message}`);
}
