// The hearing's recording, for the judge and secretary (docs/recording.md,
// "Capture"): an indicator in the header, from the newest `recording_marker`
// of the protocol (the join ack's `protocol`, then each `protocol_event`):
//
//   started, resumed -> recording   paused -> paused (a recess)
//   stopped -> finished             failed -> FAILED
//   none yet -> not recording (before the session, or recording is off)
//
// A `recording_alert` ({code: "recording_failed", reason}) means the capture
// could not be written and has stopped while the hearing goes on: a
// prominent alert stays until the judge or secretary dismisses it. A join
// whose protocol ends on `failed` shows it too (the alert itself was sent
// before this page was there), unless this page has dismissed that one.

import { setPlainText, setText } from "./i18n.js";

const STATES = {
  started: "recording",
  resumed: "recording",
  paused: "paused",
  stopped: "stopped",
  failed: "failed",
};

const LABELS = {
  recording: "recording.on",
  paused: "recording.paused",
  stopped: "recording.stopped",
  failed: "recording.failed",
  off: "recording.off",
};

const $ = (id) => document.getElementById(id);

const recording = {
  latest: null, // {seq, marker, reason}: the newest recording_marker seen
  alerted: false, // a recording_alert came after the newest marker
  alertFor: null, // seq of the failed marker the shown alert is about
  dismissed: null, // seq of the failed marker whose alert was dismissed
  bound: false,
};

function markerOf(event) {
  if (!event || typeof event !== "object" || event.kind !== "recording_marker") return null;
  if (!Number.isInteger(event.seq)) return null;
  const details = event.details && typeof event.details === "object" ? event.details : {};
  if (typeof details.marker !== "string") return null;
  const reason = typeof details.reason === "string" ? details.reason : "";
  return { seq: event.seq, marker: details.marker, reason };
}

// Keep `event` if it is a newer marker; true if it changed the state.
function note(event) {
  const marker = markerOf(event);
  if (!marker || (recording.latest && marker.seq <= recording.latest.seq)) return false;
  recording.latest = marker;
  recording.alerted = false;
  return true;
}

// "recording" | "paused" | "stopped" | "failed" | "off"
export function recordingState() {
  if (recording.alerted) return "failed";
  const latest = recording.latest;
  return latest ? STATES[latest.marker] || "off" : "off";
}

function render() {
  const state = recordingState();
  $("rec-state").dataset.recording = state;
  setText($("rec-state-text"), LABELS[state]);
}

function showAlert(reason, seq) {
  bindOnce();
  recording.alertFor = seq;
  const line = $("recording-alert-reason");
  if (reason) setText(line, "recording.alert_reason", { reason });
  else setPlainText(line, "");
  line.hidden = !reason;
  $("recording-alert").hidden = false;
}

function hideAlert() {
  $("recording-alert").hidden = true;
}

function bindOnce() {
  if (recording.bound) return;
  recording.bound = true;
  $("recording-alert-dismiss").addEventListener("click", () => {
    recording.dismissed = recording.alertFor;
    hideAlert();
  });
}

// The join ack's protocol: the state so far (merged: a marker may have come
// as an event before the ack), shown in the header.
export function showRecording(events) {
  for (const e of Array.isArray(events) ? events : []) note(e);
  render();
  $("rec-state").hidden = false;
  const latest = recording.latest;
  if (latest && latest.marker === "failed" && latest.seq !== recording.dismissed) {
    showAlert(latest.reason, latest.seq);
  }
}

// A `protocol_event`: only recording markers matter here.
export function recordingMarker(event) {
  if (note(event)) render();
}

// A `recording_alert`: the capture has stopped; the hearing goes on.
export function recordingAlert(alert) {
  const reason = alert && typeof alert.reason === "string" ? alert.reason.trim() : "";
  const latest = recording.latest;
  // Its protocol entry (a `failed` marker) comes first; without one, the alert says it.
  if (!latest || latest.marker !== "failed") recording.alerted = true;
  render();
  showAlert(reason, latest && latest.marker === "failed" ? latest.seq : null);
}

// The console goes away (left, failed).
export function hideRecording() {
  $("rec-state").hidden = true;
  hideAlert();
}
