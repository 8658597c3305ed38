// Trickling our ICE candidates to the server with `ice_candidate`.
//
// Candidates are held back until the server has the matching description
// (the publish answer, or our first subscribe answer was accepted), then sent
// in order. `null` (end of candidates) is sent as `candidate: null`.

export class IceTrickle {
  #signaling;
  #target;
  #pending = [];
  #open = false;
  #closed = false;

  constructor(signaling, target) {
    this.#signaling = signaling;
    this.#target = target;
  }

  // The handler for RTCPeerConnection's `icecandidate` event.
  onIceCandidate = (event) => {
    const c = event.candidate;
    const payload = {
      target: this.#target,
      candidate: c ? c.candidate : null,
      sdpMid: c && c.sdpMid != null ? c.sdpMid : null,
      sdpMLineIndex: c && c.sdpMLineIndex != null ? c.sdpMLineIndex : null,
    };
    if (this.#open) this.#send(payload);
    else this.#pending.push(payload);
  };

  open() {
    if (this.#open || this.#closed) return;
    this.#open = true;
    for (const payload of this.#pending.splice(0)) this.#send(payload);
  }

  close() {
    this.#closed = true;
    this.#open = false;
    this.#pending = [];
  }

  #send(payload) {
    if (this.#closed) return;
    this.#signaling.request("ice_candidate", payload).catch((err) => {
      console.warn(`tyndau: ice_candidate (${this.#target}) refused`, err.code, err.message);
    });
  }
}
