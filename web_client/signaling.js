// The Socket.IO connection to the namespace `/hearing` (docs/signaling.md).
//
// `request()` sends an event with an acknowledgement and turns the ack
// `{ok: false, error: {code, message}}` into a thrown TyndauError with `.code`;
// `{ok: true, ...result}` resolves to `result`.
//
// Several nodes (docs/several-nodes.md): the page's own origin is the entry.
// A node that does not serve the hearing refuses with `wrong_node` and the
// `node_url` of the one that does; the connection moves there (Socket.IO's
// origin and path from that URL: `<path>/socket.io/`). A node that cannot be
// reached within NODE_TIMEOUT_MS (it died) sends us back to the entry, which
// places the hearing anew and redirects to the new node. More than
// MAX_REDIRECTS refusals in a row end in `redirect_loop`; `placement_unavailable`
// (Redis away) is retried. The app sees one connection throughout: its
// handlers move with it, and it never sees a redirect.

import { io } from "/vendor/socket.io.esm.min.js";
import { TyndauError } from "./errors.js";

const ACK_TIMEOUT_MS = 15000;
const MAX_REDIRECTS = 3;
const NODE_TIMEOUT_MS = 3000;
const PLACEMENT_RETRY_MS = 1500;

// Where Socket.IO connects for `nodeUrl` (null: the entry, this page's origin).
export function socketTarget(nodeUrl, here = window.location) {
  if (!nodeUrl) return { origin: null, path: "/socket.io/" };
  const url = new URL(nodeUrl, here.href);
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TyndauError("wrong_node", `not a node URL: ${url.protocol}`);
  }
  const base = url.pathname.replace(/\/+$/, "");
  return { origin: url.origin === here.origin ? null : url.origin, path: `${base}/socket.io/` };
}

export class Signaling {
  constructor(token) {
    this.token = token;
    this.handlers = []; // [event, handler] of the app, on whichever socket is current
    this.errorHandlers = []; // the app's connect_error handlers (redirects are ours)
    this.nodeUrl = null; // the node we were sent to; null: the entry
    this.redirects = 0;
    this.nodeTimer = null;
    this.retryTimer = null;
    this.closed = false;
    this.socket = this.open(null);
  }

  open(nodeUrl) {
    this.nodeUrl = nodeUrl;
    const { origin, path } = socketTarget(nodeUrl);
    const options = {
      path,
      transports: ["websocket"],
      auth: { token: this.token },
      forceNew: true,
      // Back soon after a drop: a hearing cannot wait out a long back-off.
      reconnectionDelay: 500,
      reconnectionDelayMax: 2000,
    };
    const socket = origin ? io(`${origin}/hearing`, options) : io("/hearing", options);
    socket.on("connect", () => {
      this.redirects = 0;
      this.clearTimers();
    });
    socket.on("disconnect", () => this.watchNode());
    socket.on("connect_error", (err) => this.onConnectError(socket, err));
    for (const [event, handler] of this.handlers) socket.on(event, handler);
    this.watchNode();
    return socket;
  }

  // Move the connection: the old socket goes quietly, the app's handlers come along.
  switchTo(nodeUrl) {
    this.clearTimers();
    const old = this.socket;
    old.off();
    old.disconnect();
    this.socket = this.open(nodeUrl);
  }

  // On a node: if it does not answer soon, go back to the entry.
  watchNode() {
    if (this.nodeUrl === null || this.closed || this.nodeTimer !== null) return;
    this.nodeTimer = window.setTimeout(() => {
      this.nodeTimer = null;
      if (!this.closed && !this.socket.connected && this.nodeUrl !== null) this.switchTo(null);
    }, NODE_TIMEOUT_MS);
  }

  clearTimers() {
    window.clearTimeout(this.nodeTimer);
    window.clearTimeout(this.retryTimer);
    this.nodeTimer = null;
    this.retryTimer = null;
  }

  onConnectError(socket, err) {
    if (socket !== this.socket || this.closed) return;
    const data = err && err.data && typeof err.data === "object" ? err.data : {};
    if (data.code === "wrong_node" && typeof data.node_url === "string") {
      this.redirects += 1;
      if (this.redirects > MAX_REDIRECTS) {
        this.clearTimers(); // given up: `active` is false, the app fails with the code
        this.tell({ message: "redirect loop", data: { code: "redirect_loop" } });
        return;
      }
      try {
        this.switchTo(data.node_url);
      } catch (cause) {
        this.clearTimers();
        this.tell({ message: String(cause), data: { code: "wrong_node" } });
      }
      return;
    }
    if (data.code === "placement_unavailable") {
      // Retryable: Redis cannot say where the hearing is right now.
      this.retryTimer = window.setTimeout(() => {
        this.retryTimer = null;
        if (!this.closed && !this.socket.connected) this.socket.connect();
      }, PLACEMENT_RETRY_MS);
      this.tell({ message: data.message || "placement unavailable" }); // shown as network trouble
      return;
    }
    this.tell(err);
  }

  tell(err) {
    for (const handler of this.errorHandlers) handler(err);
  }

  get connected() {
    return this.socket.connected;
  }

  // False once Socket.IO has given up (refused by the server's middleware, or
  // closed by us) and no retry or move of ours is pending: it will not reconnect.
  get active() {
    return this.socket.active || this.retryTimer !== null || this.nodeTimer !== null;
  }

  on(event, handler) {
    if (event === "connect_error") {
      this.errorHandlers.push(handler);
      return;
    }
    this.handlers.push([event, handler]);
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
  // reconnects by itself after network failures). The hearing may have moved:
  // a node that no longer serves it redirects, one that is gone sends us back
  // to the entry.
  connect() {
    this.socket.connect();
    this.watchNode();
  }

  // Drop this connection and make a new one at once (the peer connections
  // failed: the server rebuilds them on the rejoin that follows).
  reconnect() {
    this.socket.disconnect();
    this.socket.connect();
    this.watchNode();
  }

  // Stop for good: no more events, no reconnection.
  close() {
    this.closed = true;
    this.clearTimers();
    this.socket.off();
    this.socket.disconnect();
  }
}
