import type { Server } from "node:http";
import type { Socket } from "node:net";

/**
 * At most `max` open connections per peer address; one past it is closed as it opens, before any byte
 * is read, so holding connections open costs a client its own sockets and the gateway little. The peer
 * is the TCP one: behind a proxy that is the proxy, so raise the cap or turn it off (0) there.
 */
export function capConnectionsPerAddress(server: Server, max: number): void {
  if (max === 0) return;
  const open = new Map<string, number>();
  server.on("connection", (socket: Socket) => {
    const address = socket.remoteAddress ?? "";
    const count = (open.get(address) ?? 0) + 1;
    if (count > max) {
      socket.destroy();
      return;
    }
    open.set(address, count);
    socket.once("close", () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left === 0) open.delete(address);
      else open.set(address, left);
    });
  });
}
