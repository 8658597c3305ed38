// Putting a new local track in place of an old one, without renegotiating.
//
// The publisher's sender gets the new track with replaceTrack(): the SDP, the
// SSRC and the peer connection stay as they were, so the others see the
// picture change (a camera switched, a camera the system stopped and we
// opened again), never a participant who left and came back.

// The transceiver that sends `old` (or, once it is gone, the one of its kind).
function senderFor(pc, kind, old) {
  const transceivers = pc.getTransceivers().filter((t) => t.currentDirection !== "stopped");
  const own = transceivers.find((t) => old && t.sender.track === old);
  if (own) return own.sender;
  const ofKind = transceivers.find((t) => t.receiver.track && t.receiver.track.kind === kind);
  return ofKind ? ofKind.sender : null;
}

// Replace `old` (may be null or ended) with `fresh` in `stream` and on `pc`'s
// sender (`pc` may be null: not publishing yet). The mute state carries over.
export async function replaceLocalTrack(stream, pc, old, fresh) {
  if (old) fresh.enabled = old.enabled;
  if (pc && pc.connectionState !== "closed") {
    const sender = senderFor(pc, fresh.kind, old);
    if (sender) await sender.replaceTrack(fresh);
  }
  if (old) {
    stream.removeTrack(old);
    old.stop();
  }
  stream.addTrack(fresh);
}

export function localTrackOf(stream, kind) {
  return stream ? stream.getTracks().find((track) => track.kind === kind) || null : null;
}
