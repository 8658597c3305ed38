// The self-test's network check: round trip and loss to the server over a
// real WebRTC path (docs/signaling.md, `probe_offer`).
//
// One data channel, unordered with maxRetransmits 0, so a lost probe stays
// lost instead of being resent late. Numbered probes go out at a steady pace;
// the server echoes each. Resolves to {rtt_ms, loss_percent}: rtt_ms is the
// median of the echoes' round trips (null when none came back), and when no
// connection could be made at all, loss_percent is 100.

import { rtcConfiguration } from "./ice-config.js";

const PROBES = 40;
const INTERVAL_MS = 100;
const LAST_ECHO_WAIT_MS = 1500; // an echo later than this counts as lost
const GATHER_LIMIT_MS = 3000;
const OPEN_LIMIT_MS = 8000;

function sleep(ms) {
  return new Promise((resolve) => window.setTimeout(resolve, ms));
}

// The server takes no trickled candidates from a probe: offer them all at once.
function gathered(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState === "complete") resolve();
    };
    pc.addEventListener("icegatheringstatechange", done);
    window.setTimeout(resolve, GATHER_LIMIT_MS); // send what we have
  });
}

function opened(channel, signal) {
  return new Promise((resolve, reject) => {
    if (channel.readyState === "open") resolve();
    channel.addEventListener("open", () => resolve(), { once: true });
    channel.addEventListener("close", () => reject(new Error("probe channel closed")), {
      once: true,
    });
    signal.addEventListener("abort", () => reject(new Error("aborted")), { once: true });
    window.setTimeout(() => reject(new Error("probe channel did not open")), OPEN_LIMIT_MS);
  });
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

// `signaling`: a connected Signaling (joined or not); `rtcConfig`: the
// RTCPeerConnection configuration (the join ack's, once known); `signal`: an
// AbortSignal that stops the check early (then it rejects).
export async function checkNetwork(signaling, rtcConfig = null, signal = new AbortController().signal) {
  // Before joining there is no join ack yet: ask for the same ICE servers (TURN
  // included), or a network that lets only TURN through would fail the check.
  const config = rtcConfig || rtcConfiguration(await signaling.request("ice_config", {}));
  const pc = new RTCPeerConnection(config);
  const channel = pc.createDataChannel("probe", { ordered: false, maxRetransmits: 0 });
  const sent = new Map(); // probe number -> send time
  const rtts = [];
  channel.addEventListener("message", (event) => {
    const seq = Number.parseInt(String(event.data).split(":")[0], 10);
    const at = sent.get(seq);
    if (at === undefined) return; // a duplicate or a stranger
    sent.delete(seq);
    rtts.push(performance.now() - at);
  });
  try {
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    const answer = await signaling.request("probe_offer", {
      type: "offer",
      sdp: pc.localDescription.sdp,
    });
    await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
    try {
      await opened(channel, signal);
    } catch (err) {
      if (signal.aborted) throw err;
      return { rtt_ms: null, loss_percent: 100 }; // nothing gets through from here
    }
    let count = 0;
    for (let seq = 0; seq < PROBES; seq += 1) {
      if (signal.aborted) throw new Error("aborted");
      if (channel.readyState !== "open") break;
      count += 1;
      sent.set(seq, performance.now());
      channel.send(`${seq}:${Math.round(performance.now())}`);
      await sleep(INTERVAL_MS);
    }
    await sleep(LAST_ECHO_WAIT_MS);
    if (signal.aborted) throw new Error("aborted");
    if (count === 0) return { rtt_ms: null, loss_percent: 100 };
    return {
      rtt_ms: rtts.length ? Math.round(median(rtts) * 10) / 10 : null,
      loss_percent: Math.round((1000 * (count - rtts.length)) / count) / 10,
    };
  } finally {
    channel.close(); // tells the server the check is done
    pc.close();
  }
}
