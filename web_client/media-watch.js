// Noticing that media stopped while signaling still works (a network change
// that kept the WebSocket, UDP blocked mid-hearing).
//
// aiortc, the server's WebRTC stack, cannot restart ICE (docs/media-plane.md,
// "Reconnection"), so `pc.restartIce()` would get nowhere: when a peer
// connection has failed, or stayed disconnected for a few seconds, the client
// rebuilds both by reconnecting and rejoining, as after any drop.

const CHECK_MS = 1000;
const DISCONNECTED_LIMIT_MS = 4000;

export class MediaWatch {
  #timer = null;
  #since = null;

  // `peerConnections()`: the current peer connections (null for none yet);
  // `onLost()`: called once per loss, after which the watch stops.
  constructor(peerConnections, onLost) {
    this.peerConnections = peerConnections;
    this.onLost = onLost;
  }

  start() {
    this.stop();
    this.#timer = window.setInterval(() => this.#check(), CHECK_MS);
  }

  stop() {
    if (this.#timer !== null) window.clearInterval(this.#timer);
    this.#timer = null;
    this.#since = null;
  }

  #check() {
    const states = this.peerConnections()
      .filter((pc) => pc)
      .map((pc) => pc.connectionState);
    if (states.includes("failed")) {
      this.#lost();
      return;
    }
    if (!states.includes("disconnected")) {
      this.#since = null;
      return;
    }
    const now = Date.now();
    if (this.#since === null) this.#since = now;
    else if (now - this.#since >= DISCONNECTED_LIMIT_MS) this.#lost();
  }

  #lost() {
    this.stop();
    this.onLost();
  }
}
