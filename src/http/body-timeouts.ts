import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from "fastify";
import { ErrorCode } from "../errors.js";

export interface BodyTimeoutOptions {
  /** No byte of the body for this long cuts the request. */
  idleMs: number;
  /** The whole request's bound: Node's requestTimeout on the server enforces it; named here for the message. */
  totalMs: number;
  /** Requests to this route get a call-log line when cut. */
  path: string;
  onRefused: (request: FastifyRequest, code: string, message: string) => void;
  /** Another face's route, which writes its own line (once) and answers in its own shape when cut. */
  faceOf?: (request: FastifyRequest) => CutFace | undefined;
}

export interface CutFace {
  onRefused: (request: FastifyRequest, code: string, message: string) => void;
  /** The JSON body of the 408 in the face's error shape. */
  body: (code: string, message: string) => string;
}

interface Receiving {
  request: FastifyRequest;
  reply: FastifyReply;
}

function hasBody(raw: IncomingMessage): boolean {
  const length = raw.headers["content-length"];
  return raw.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

function timeoutResponse(requestId: string, message: string, face: CutFace | undefined): string {
  const body = face?.body(ErrorCode.REQUEST_TIMEOUT, message) ?? JSON.stringify({ errors: [{ message, extensions: { code: ErrorCode.REQUEST_TIMEOUT } }] });
  return (
    "HTTP/1.1 408 Request Timeout\r\n" +
    "Content-Type: application/json; charset=utf-8\r\n" +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    `x-request-id: ${requestId}\r\n` +
    "Connection: close\r\n\r\n" +
    body
  );
}

/**
 * Bounds the time to receive a request body: a body that stalls for `idleMs`, or a request not complete
 * within `totalMs`, is answered 408 REQUEST_TIMEOUT and its connection closed. Without it a client
 * sending a byte now and then holds a connection, and whatever is parsed of it, for ever.
 *
 * The overall bound is Node's own `requestTimeout`, which reports through 'clientError'. The idle bound is
 * the socket's inactivity timeout, armed only while a body is arriving: a generation may then take
 * minutes without a byte on the socket, and that is no stall. Both go through `cut`, which writes the
 * refused call's line unless the request was already handed on (a multipart request whose files were
 * still streaming to a resolver: that call's line is written by Apollo, failed on the unread file).
 */
export function registerBodyTimeouts(app: FastifyInstance, options: BodyTimeoutOptions): void {
  const receiving = new WeakMap<Socket, Receiving>();

  const cut = (socket: Socket, message: string): boolean => {
    const pending = receiving.get(socket);
    if (!pending) return false;
    receiving.delete(socket);
    const { request, reply } = pending;
    // Answered already (a refusal before the body was read): that answer has its line.
    if (!reply.raw.headersSent) {
      const face = options.faceOf?.(request);
      // A face's route runs only once its whole body is in, so a cut body is always a refusal there.
      if (face) face.onRefused(request, ErrorCode.REQUEST_TIMEOUT, message);
      else if (request.routeOptions.url === options.path && request.body === undefined) options.onRefused(request, ErrorCode.REQUEST_TIMEOUT, message);
      if (socket.writable) socket.write(timeoutResponse(request.id, message, face));
    }
    socket.destroy();
    return true;
  };

  const watchBody = (request: FastifyRequest, reply: FastifyReply): void => {
    const raw = request.raw;
    if (raw.complete || raw.destroyed) return;
    const socket = raw.socket;
    receiving.set(socket, { request, reply });
    const onIdle = (): void => {
      cut(socket, `The request body stalled: no byte for ${options.idleMs} ms`);
    };
    // Node emits 'timeout' on the request while it is incomplete, and leaves the socket alone when it is handled.
    raw.once("timeout", onIdle);
    raw.once("end", () => {
      receiving.delete(socket);
      raw.off("timeout", onIdle);
      socket.setTimeout(app.server.timeout);
    });
    socket.setTimeout(options.idleMs);
  };

  app.addHook("onRequest", (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    // Looked at once Node has parsed the whole read the headers came in (after I/O, so setImmediate: a
    // nextTick runs between the headers and the body of one packet). A small body came with its headers, is
    // complete by then, and costs no timer, listener or map entry.
    if (hasBody(request.raw)) setImmediate(watchBody, request, reply);
    done();
  });

  // Before Fastify's own handler, which answers every other client error and skips a destroyed socket.
  app.server.prependListener("clientError", (error: NodeJS.ErrnoException, socket: Socket) => {
    if (error.code === "ERR_HTTP_REQUEST_TIMEOUT") cut(socket, `The request was not received within ${options.totalMs} ms`);
  });
}

/** Node's options for the overall bound: checked often enough to cut near the deadline, headers within it. */
export function requestTimeoutOptions(totalMs: number): { requestTimeout: number; http: { headersTimeout: number; connectionsCheckingInterval: number } } {
  return {
    requestTimeout: totalMs,
    http: { headersTimeout: Math.min(60_000, totalMs), connectionsCheckingInterval: Math.min(1_000, Math.max(50, Math.floor(totalMs / 10))) },
  };
}
