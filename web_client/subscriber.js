// The subscribe peer connection: the server offers one sendonly transceiver
// per forwarded remote track, we answer each offer with the same `revision`.
//
// Offers are handled strictly one at a time, in arrival order. Each offer's
// `tracks` list ({mid, participant_id, kind, active}) says whose track every
// m-line carries; the stream id (msid) of a track is also its participant id.
// Tracks are reported through onTrack(participantId, track) and
// onTrackGone(participantId, track).

import { IceTrickle } from "./ice-trickle.js";

export class Subscriber {
  #signaling;
  #rtcConfig;
  #trickle;
  #chain = Promise.resolve();
  #closed = false;
  #tracksByMid = new Map(); // mid -> {participant_id, kind, active} of the latest offer
  #owners = new Map(); // mid -> {participantId, track} currently shown

  // `rtcConfig` ({iceServers, iceTransportPolicy}) is a promise: an offer may arrive
  // before the join ack.
  constructor({ signaling, rtcConfig, onTrack, onTrackGone, onError, onFailed }) {
    this.#signaling = signaling;
    this.#rtcConfig = rtcConfig;
    this.#trickle = new IceTrickle(signaling, "subscribe");
    this.onTrack = onTrack;
    this.onTrackGone = onTrackGone;
    this.onError = onError;
    this.onFailed = onFailed;
    this.pc = null;
  }

  enqueue(offer) {
    this.#chain = this.#chain
      .then(() => this.#handleOffer(offer))
      .catch((err) => {
        if (!this.#closed && this.onError) this.onError(err);
      });
    return this.#chain;
  }

  close() {
    this.#closed = true;
    this.#trickle.close();
    if (this.pc) this.pc.close();
    this.#owners.clear();
  }

  #createPeerConnection(rtcConfig) {
    const pc = new RTCPeerConnection(rtcConfig);
    pc.addEventListener("icecandidate", this.#trickle.onIceCandidate);
    pc.addEventListener("track", (event) => {
      const mid = event.transceiver ? event.transceiver.mid : null;
      const info = mid != null ? this.#tracksByMid.get(mid) : undefined;
      if (info && !info.active) return;
      const streamId = event.streams[0] ? event.streams[0].id : null;
      const participantId = streamId || (info ? info.participant_id : null);
      if (participantId) this.#assign(mid, participantId, event.track);
    });
    pc.addEventListener("connectionstatechange", () => {
      if (!this.#closed && pc.connectionState === "failed" && this.onFailed) this.onFailed();
    });
    return pc;
  }

  async #handleOffer(offer) {
    if (this.#closed) return;
    if (!offer || typeof offer.sdp !== "string" || !Number.isInteger(offer.revision)) {
      console.warn("tyndau: malformed subscribe_offer ignored", offer);
      return;
    }
    const rtcConfig = await this.#rtcConfig;
    if (this.#closed) return;
    if (!this.pc) this.pc = this.#createPeerConnection(rtcConfig);
    const pc = this.pc;

    this.#tracksByMid = new Map(
      (Array.isArray(offer.tracks) ? offer.tracks : []).map((t) => [String(t.mid), t]),
    );
    try {
      await pc.setRemoteDescription({ type: "offer", sdp: offer.sdp });
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
    } catch (err) {
      if (pc.signalingState === "have-remote-offer") {
        await pc.setLocalDescription({ type: "rollback" }).catch(() => {});
      }
      throw err;
    }
    if (this.#closed) return;
    this.#reconcile();
    try {
      await this.#signaling.request("subscribe_answer", {
        type: "answer",
        sdp: pc.localDescription.sdp,
        revision: offer.revision,
      });
    } catch (err) {
      // A newer offer is on its way; it will be answered in turn.
      if (err.code === "stale_answer") return;
      throw err;
    }
    this.#trickle.open();
  }

  // Bring the shown tracks in line with the latest offer: an m-line whose
  // track is inactive, gone, or now carries someone else's track is released.
  #reconcile() {
    const mids = new Set();
    for (const transceiver of this.pc.getTransceivers()) {
      const mid = transceiver.mid;
      if (mid == null) continue;
      mids.add(mid);
      const info = this.#tracksByMid.get(mid);
      const wanted = info && info.active ? String(info.participant_id) : null;
      const owner = this.#owners.get(mid);
      if (owner && owner.participantId !== wanted) this.#release(mid);
      if (wanted) this.#assign(mid, wanted, transceiver.receiver.track);
    }
    for (const mid of [...this.#owners.keys()]) {
      if (!mids.has(mid)) this.#release(mid);
    }
  }

  #assign(mid, participantId, track) {
    const key = mid == null ? `track:${track.id}` : mid;
    const owner = this.#owners.get(key);
    if (owner && owner.participantId === participantId && owner.track === track) return;
    if (owner) this.#release(key);
    this.#owners.set(key, { participantId, track });
    this.onTrack(participantId, track);
  }

  #release(key) {
    const owner = this.#owners.get(key);
    if (!owner) return;
    this.#owners.delete(key);
    this.onTrackGone(owner.participantId, owner.track);
  }
}
