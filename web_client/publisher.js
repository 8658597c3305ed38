// The publish peer connection: we offer sendonly audio/video, the server answers.

import { IceTrickle } from "./ice-trickle.js";

export class Publisher {
  #signaling;
  #trickle;
  #closed = false;

  // `rtcConfig`: {iceServers, iceTransportPolicy} from the join ack (ice-config.js).
  constructor({ signaling, rtcConfig, stream, onFailed }) {
    this.#signaling = signaling;
    this.stream = stream;
    this.pc = new RTCPeerConnection(rtcConfig);
    this.#trickle = new IceTrickle(signaling, "publish");
    this.pc.addEventListener("icecandidate", this.#trickle.onIceCandidate);
    this.pc.addEventListener("connectionstatechange", () => {
      if (!this.#closed && this.pc.connectionState === "failed" && onFailed) onFailed();
    });
  }

  async start() {
    for (const track of this.stream.getTracks()) {
      this.pc.addTransceiver(track, { direction: "sendonly", streams: [this.stream] });
    }
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription(offer);
    // Sent at once: the server does not wait for our gathering to finish.
    const answer = await this.#signaling.request("publish_offer", {
      type: "offer",
      sdp: this.pc.localDescription.sdp,
    });
    if (this.#closed) return;
    await this.pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
    this.#trickle.open();
  }

  close() {
    this.#closed = true;
    this.#trickle.close();
    this.pc.close();
  }
}
