// The Socket.IO connection to the namespace `/hearing` (docs/signaling.md).
//
// `request()` sends an event with an acknowledgement and turns the ack
// `{ok: false, error: {code, message}}` into a thrown TyndauError with `.code`;
// `{ok: true, ...result}` resolves to `result`.

import { io } from "/vendor/socket.io.esm.min.js";
import { TyndauError } from "./errors.js";

const ACK_TIMEOUT_MS = 15000;

export class Signaling {
  constructor(token) {
    this.socket = io("/hearing", {
      path: "/socket.io/",
      transports: ["websocket"],
      auth: { token },
      forceNew: true,
      // Back soon after a drop: a hearing cannot wait out a long back-off.
      reconnectionDelay: 500,
      reconnectionDelayMax: 2000,
    });
  }

  get connected() {
    return this.socket.connected;
  }

  // False once Socket.IO has given up (refused by the server's middleware, or
  // closed by us): it will not reconnect on its own.
  get active() {
    return this.socket.active;
  }

  on(event, handler) {
    this.socket.on(event, handler);
  }

  async request(event, payload = {}) {
    // Socket.IO would buffer the emit and send it after a reconnect, into a
    // session that never joined: refuse instead.
    if (!this.socket.connected) {
      throw new TyndauError("connection_lost", `${event}: not connected`, { event });
    }
    let reply;
    try {
      reply = await this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, payload);
    } catch (cause) {
      throw new TyndauError("request_timeout", `${event}: no ack in ${ACK_TIMEOUT_MS} ms`, {
        event,
        cause,
      });
    }
    if (reply === null || typeof reply !== "object") {
      throw new TyndauError("internal_error", `${event}: malformed ack`, { event });
    }
    if (reply.ok !== true) {
      const error = reply.error && typeof reply.error === "object" ? reply.error : {};
      const code = typeof error.code === "string" && error.code ? error.code : "internal_error";
      throw new TyndauError(code, error.message || code, { event });
    }
    const { ok: _ok, ...result } = reply;
    return result;
  }

  // Connect again after the server closed the connection (Socket.IO only
  // reconnects by itself after network failures).
  connect() {
    this.socket.connect();
  }

  // Drop this connection and make a new one at once (the peer connections
  // failed: the server rebuilds them on the rejoin that follows).
  reconnect() {
    this.socket.disconnect();
    this.socket.connect();
  }

  // Stop for good: no more events, no reconnection.
  close() {
    this.socket.off();
    this.socket.disconnect();
  }
}
