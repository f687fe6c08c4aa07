import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from "fastify";
import { processRequest, Upload } from "graphql-upload-minimal";
import { MESSAGE_MAX_CHARS, truncateText } from "../observability/truncate.js";
import { ErrorCode } from "../errors.js";
import { replyWithGraphQLError } from "./graphql-error-reply.js";

export interface MultipartOptions {
  maxFileBytes: number;
  maxFiles: number;
  /** Size of the `operations` and `map` fields. */
  maxFieldBytes?: number;
  /**
   * The whole request. Checked against Content-Length before parsing; a chunked body is bounded all the
   * same by the parser's limits (files × file size + two fields).
   */
  maxRequestBytes: number;
  onRefused: (request: FastifyRequest, code: string, message: string) => void;
}

function isMultipart(request: FastifyRequest): boolean {
  return (request.headers["content-type"] ?? "").toLowerCase().startsWith("multipart/form-data");
}

/** Apollo's CSRF rule: a browser can send multipart cross-site without preflight, unless a custom header is required. */
function hasPreflightHeader(request: FastifyRequest): boolean {
  const h = request.headers;
  return Boolean(h["apollo-require-preflight"] || h["x-apollo-operation-name"]);
}

function collectUploads(value: unknown, found: Upload[]): Upload[] {
  if (value instanceof Upload) found.push(value);
  else if (Array.isArray(value)) for (const item of value) collectUploads(item, found);
  else if (value && typeof value === "object") for (const item of Object.values(value)) collectUploads(item, found);
  return found;
}

/**
 * Reads and drops whatever files the operation did not read (it was refused, or never looked at them):
 * an unread file stalls the multipart parser, and a client still sending would hang or see a reset
 * instead of reading its answer.
 */
function discardUnread(uploads: readonly Upload[]): void {
  for (const upload of uploads) {
    upload.promise.then(
      (file) => {
        try {
          file.createReadStream().resume();
        } catch {
          // Already read, or failed by the parser: nothing left to drain.
        }
      },
      () => undefined,
    );
  }
}

/**
 * GraphQL multipart requests on the GraphQL route: the body is left to graphql-upload-minimal, which
 * hands Apollo the operations as soon as the map is read while files stream on to the resolvers.
 */
export function registerMultipart(app: FastifyInstance, path: string, options: MultipartOptions): void {
  app.addContentTypeParser("multipart/form-data", (_request, _payload, done) => done(null));

  const refuse = (request: FastifyRequest, reply: FastifyReply, status: number, code: string, message: string) => {
    options.onRefused(request, code, message);
    return replyWithGraphQLError(reply, status, code, message);
  };

  const parseUploads = async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    if (!hasPreflightHeader(request)) {
      // Refused before a byte of the body is parsed: the upload parser would run before Apollo's own check.
      return refuse(
        request,
        reply,
        400,
        "BAD_REQUEST",
        "This operation has been blocked as a potential Cross-Site Request Forgery (CSRF). Send a non-empty `apollo-require-preflight` or `x-apollo-operation-name` header with multipart requests.",
      );
    }
    const declared = Number(request.headers["content-length"]);
    if (Number.isFinite(declared) && declared > options.maxRequestBytes) {
      return refuse(request, reply, 413, ErrorCode.PAYLOAD_TOO_LARGE, `The request is larger than the ${options.maxRequestBytes}-byte limit`);
    }
    try {
      request.body = await processRequest(request.raw, reply.raw, {
        maxFileSize: options.maxFileBytes,
        maxFiles: options.maxFiles,
        maxFieldSize: options.maxFieldBytes ?? 1_000_000,
      });
      const uploads = collectUploads(request.body, []);
      // Only multipart requests pay for this, not every request through a global onSend hook.
      if (uploads.length > 0) reply.raw.once("finish", () => discardUnread(uploads));
    } catch (error) {
      const status = (error as { status?: number }).status ?? 400;
      // The parser quotes the client's map paths in its messages: cut them short.
      const message = truncateText(error instanceof Error ? error.message : "invalid multipart request", MESSAGE_MAX_CHARS);
      if (status === 413) return refuse(request, reply, 413, ErrorCode.PAYLOAD_TOO_LARGE, message);
      return refuse(request, reply, 400, ErrorCode.BAD_USER_INPUT, `Invalid multipart request: ${message}`);
    }
  };

  // A callback hook, not an async one: every JSON request passes through here, and an async hook costs
  // each of them a promise and a microtask turn for nothing.
  app.addHook("preValidation", (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    if (request.method !== "POST" || !isMultipart(request) || request.routeOptions.url !== path) return done();
    // A refusal has answered already: the handler must not run.
    parseUploads(request, reply).then(() => {
      if (!reply.sent) done();
    }, done);
  });
}
