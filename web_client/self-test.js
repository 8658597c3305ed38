// The device self-test: camera preview, microphone level, a speaker test
// tone, and the network check (network-check.js), with a plain-language
// verdict and what to do about it.
//
// Before joining, a party sees it first (then the court's rules): the camera
// and microphone opened here are the ones the hearing then uses. The network
// check runs over a short-lived signaling connection of its own (the join has
// not happened yet); the verdict comes from the server (`self_test`, one rule
// for everyone, docs/signaling.md). "Continue" never waits for the check: a
// test must not keep anyone out of a hearing. The result is kept for this tab
// (sessionStorage) and sent again after every join, so the judge and the
// secretary see it in their console. From the hearing, "Check" opens the same
// panel over the hearing and measures over the hearing's own connection.

import { playTestTone, resumeAudio, startMicMeter } from "./audio-check.js";
import { errorCode } from "./errors.js";
import { errorKey, setText } from "./i18n.js";
import { acquireLocalMedia } from "./local-media.js";
import { checkNetwork } from "./network-check.js";
import { isCourtRole } from "./procedure.js";
import { Signaling } from "./signaling.js";
import * as ui from "./ui.js";

const STORAGE_PREFIX = "tyndau.self_test.";
const CONNECT_LIMIT_MS = 10000;

const $ = (id) => document.getElementById(id);

const view = {
  run: 0,
  abort: null, // AbortController of the network check running
  stopMeter: () => {},
  params: null, // {claims, stream, wanted, connect, rtcConfig}
  onClose: null,
  bound: false,
};

function storageKey(claims) {
  return `${STORAGE_PREFIX}${claims.hearing}:${claims.sub}`;
}

function storedReport(claims) {
  try {
    const report = JSON.parse(window.sessionStorage.getItem(storageKey(claims)) || "null");
    return report && typeof report === "object" ? report : null;
  } catch {
    return null; // storage disabled or damaged: no result to send
  }
}

function storeReport(claims, report) {
  try {
    window.sessionStorage.setItem(storageKey(claims), JSON.stringify(report));
  } catch {
    // kept for this page only
  }
}

function setCheck(name, status, key, params = null) {
  const row = $(`check-${name}`);
  row.dataset.status = status;
  setText(row.querySelector(".check-result"), key, params);
}

// ---- devices ----

function showDevices(stream, wanted, mediaError) {
  const video = $("selftest-video");
  const hasVideo = Boolean(stream && stream.getVideoTracks().some((t) => t.readyState === "live"));
  const hasAudio = Boolean(stream && stream.getAudioTracks().some((t) => t.readyState === "live"));
  video.srcObject = hasVideo ? stream : null;
  if (hasVideo) video.play().catch(() => {}); // muted: allowed without a gesture
  $("selftest-preview").classList.toggle("no-video", !hasVideo);
  const error = $("selftest-media-error");
  error.hidden = !mediaError;
  if (mediaError) setText(error, errorKey(mediaError));

  if (!wanted.video) setCheck("camera", "untested", "selftest.not_used");
  else setCheck("camera", hasVideo ? "ok" : "fail", hasVideo ? "selftest.camera_ok" : "selftest.camera_fail");
  if (!wanted.audio) setCheck("microphone", "untested", "selftest.not_used");
  else setCheck("microphone", hasAudio ? "ok" : "fail", hasAudio ? "selftest.mic_ok" : "selftest.mic_fail");

  view.stopMeter();
  const fill = $("selftest-meter-fill");
  const meter = $("selftest-meter");
  meter.hidden = !hasAudio;
  view.stopMeter = hasAudio
    ? startMicMeter(stream.getAudioTracks()[0], (level) => {
        // CSSOM, not a style attribute: allowed by the page's CSP.
        fill.style.transform = `scaleX(${level.toFixed(3)})`;
        meter.setAttribute("aria-valuenow", String(Math.round(level * 100)));
      })
    : () => {};
  return {
    camera: wanted.video ? hasVideo : null,
    microphone: wanted.audio ? hasAudio : null,
  };
}

// ---- network and verdict ----

function showVerdict(result) {
  const box = $("selftest-verdict");
  const verdict = ["good", "poor", "bad"].includes(result.verdict) ? result.verdict : "poor";
  box.dataset.verdict = verdict;
  setText($("selftest-verdict-text"), `selftest.verdict.${verdict}`);
  const list = $("selftest-advice");
  list.replaceChildren();
  for (const code of Array.isArray(result.advice) ? result.advice : []) {
    const item = document.createElement("li");
    setText(item, `selftest.advice.${code}`);
    list.append(item);
  }
  box.hidden = false;
}

function showNetwork(network) {
  if (network.rtt_ms !== null) {
    const status = network.loss_percent >= 10 || network.rtt_ms >= 800 ? "fail" : "ok";
    setCheck("network", status, "selftest.network_result", {
      rtt: Math.round(network.rtt_ms),
      loss: network.loss_percent,
    });
  } else if (network.loss_percent === 100) {
    setCheck("network", "fail", "selftest.network_failed");
  } else {
    setCheck("network", "fail", "selftest.network_unavailable");
  }
}

// Run the network check and ask the server for the verdict; resolves to the
// report (what was measured), or null when a newer run or a close replaced it.
async function runChecks(devices) {
  const { connect, rtcConfig } = view.params;
  const run = ++view.run;
  if (view.abort) view.abort.abort();
  const abort = new AbortController();
  view.abort = abort;
  $("selftest-verdict").hidden = true;
  setCheck("network", "pending", "selftest.checking");
  const current = () => run === view.run && !abort.signal.aborted;
  let link = null;
  let network = { rtt_ms: null, loss_percent: null };
  try {
    link = await connect();
    network = await checkNetwork(link.signaling, rtcConfig, abort.signal);
  } catch (err) {
    if (!current()) {
      if (link) link.release();
      return null;
    }
    console.warn("tyndau: network check failed", err);
  }
  if (!current()) {
    if (link) link.release();
    return null;
  }
  showNetwork(network);
  const report = { ...network, ...devices };
  try {
    if (link) {
      const { self_test: result } = await link.signaling.request("self_test", report);
      if (current() && result) showVerdict(result);
    }
  } catch (err) {
    console.warn("tyndau: self-test verdict refused", err);
  } finally {
    if (link) link.release();
  }
  return report;
}

async function checkAndKeep(devices) {
  const claims = view.params.claims;
  const report = await runChecks(devices);
  if (report) storeReport(claims, report);
}

// A signaling connection of its own, before the join: closed after the check.
function temporaryLink(token) {
  return () =>
    new Promise((resolve, reject) => {
      const signaling = new Signaling(token);
      const release = () => signaling.close();
      const timer = window.setTimeout(() => {
        release();
        reject(new Error("no connection for the network check"));
      }, CONNECT_LIMIT_MS);
      signaling.on("connect", () => {
        window.clearTimeout(timer);
        resolve({ signaling, release });
      });
      signaling.on("connect_error", (err) => {
        if (signaling.active) return; // Socket.IO retries network trouble by itself
        window.clearTimeout(timer);
        release();
        reject(err);
      });
    });
}

// ---- the panel ----

function bindOnce() {
  if (view.bound) return;
  view.bound = true;
  $("btn-selftest-tone").addEventListener("click", async () => {
    setCheck("speaker", "pending", "selftest.tone_playing");
    const played = await playTestTone().catch(() => false);
    setCheck("speaker", played ? "ok" : "fail", played ? "selftest.tone_hint" : "selftest.tone_failed");
  });
  $("btn-selftest-again").addEventListener("click", () => {
    resumeAudio();
    const { stream, wanted } = view.params;
    void checkAndKeep(showDevices(stream, wanted, null));
  });
  $("btn-selftest-continue").addEventListener("click", () => {
    resumeAudio(); // a user gesture: sound may start from here on
    const onClose = view.onClose;
    closePanel();
    if (onClose) onClose();
  });
}

function openPanel(params, closeKey) {
  bindOnce();
  view.params = params;
  setText($("btn-selftest-continue"), closeKey);
  setCheck("speaker", "idle", "selftest.tone_prompt");
  const devices = showDevices(params.stream, params.wanted, params.mediaError);
  void checkAndKeep(devices);
}

function closePanel() {
  view.run += 1;
  if (view.abort) view.abort.abort();
  view.stopMeter();
  view.stopMeter = () => {};
  $("selftest-video").srcObject = null;
  document.body.classList.remove("selftest-open");
  view.onClose = null;
}

// Before joining. Resolves to the local stream opened for the test (the
// hearing uses it), or null when there is no test (the court; done before in
// this tab) or no camera and microphone could be opened.
export async function selfTestBeforeJoin(claims, token, wanted) {
  if (isCourtRole(claims.role) || storedReport(claims)) return null;
  ui.setState("selftest");
  let stream = null;
  let mediaError = null;
  if (wanted.audio || wanted.video) {
    try {
      ({ stream } = await acquireLocalMedia(wanted));
    } catch (err) {
      mediaError = errorCode(err);
    }
  }
  await new Promise((resolve) => {
    view.onClose = resolve;
    openPanel({ claims, stream, wanted, mediaError, connect: temporaryLink(token), rtcConfig: null }, "selftest.continue");
    $("btn-selftest-continue").focus();
  });
  return stream;
}

// From the hearing: the same checks over the hearing's own connection.
// `signaling`: the joined connection; `rtcConfig`: the join's ICE configuration.
export function openSelfTest({ claims, stream, wanted, signaling, rtcConfig }) {
  if (!signaling || !signaling.connected) {
    ui.noticeForError("connection_lost");
    return;
  }
  document.body.classList.add("selftest-open");
  const connect = async () => ({ signaling, release: () => {} });
  openPanel({ claims, stream, wanted, mediaError: null, connect, rtcConfig }, "selftest.close");
  $("selftest-panel").focus();
}

// After a join: tell the server the last result, so the court sees it.
export async function reportSelfTest(signaling, claims) {
  const report = storedReport(claims);
  if (!report || !signaling.connected) return;
  try {
    await signaling.request("self_test", report);
  } catch (err) {
    console.warn("tyndau: self-test result not stored", err);
  }
}
