// The live protocol on the court's console: every entry of the join ack's
// `protocol` and each `protocol_event`, in order (by `seq`), as time, what
// happened and who, in the interface language. Entries are keyed by `seq`:
// one that came both in the ack and as an event (the join itself) shows once.

import { setPlainText, setText } from "./i18n.js";
import { syncRows } from "./keyed-list.js";

// server/procedure/protocol.py EventKind -> message key.
const KINDS = {
  hearing_opened: "protocol.hearing_opened",
  session_started: "protocol.session_started",
  recess: "protocol.recess",
  resumed: "protocol.resumed",
  hearing_closed: "protocol.hearing_closed",
  joined: "protocol.joined",
  left: "protocol.left",
  admitted: "protocol.admitted",
  dismissed: "protocol.dismissed",
  witness_called: "protocol.witness_called",
  muted: "protocol.muted",
  unmuted: "protocol.unmuted",
  removed: "protocol.removed",
  consultation_started: "protocol.consultation_started",
  consultation_ended: "protocol.consultation_ended",
  quality_alert: "protocol.quality_alert",
  recording_marker: "protocol.recording_marker",
  detainee_attested: "protocol.detainee_attested",
};

// A recording marker (docs/recording.md) in words: details.marker -> message key.
const RECORDING_MARKERS = {
  started: "protocol.recording_started",
  paused: "protocol.recording_paused",
  resumed: "protocol.recording_resumed",
  stopped: "protocol.recording_stopped",
  failed: "protocol.recording_failed",
  gap: "protocol.recording_gap", // a server failed; another took the hearing over
};

// What an entry's details add: which medium was muted, why someone left,
// why the recording paused or resumed (the server stopping, restarting, failing
// over to another node).
const DETAILS = {
  audio: "protocol.detail.audio",
  video: "protocol.detail.video",
  connection_lost: "protocol.detail.connection_lost",
  removed: "protocol.detail.removed",
  session_ended: "protocol.detail.session_ended",
  hearing_closed: "protocol.detail.hearing_closed",
  recalled: "protocol.detail.recalled",
  shutdown: "protocol.detail.shutdown",
  restart: "protocol.detail.restart",
  node_failed: "protocol.detail.node_failed",
  failover: "protocol.detail.failover",
  moved: "protocol.detail.moved",
};

const entries = new Map(); // seq -> ProtocolEvent

// "14:05:09" in local time; the same digits in every interface language.
export function clockTime(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return date.toLocaleTimeString("en-GB", { hour12: false });
}

function isEvent(e) {
  return e !== null && typeof e === "object" && Number.isInteger(e.seq) && typeof e.kind === "string";
}

const detailsOf = (e) => (e.details && typeof e.details === "object" ? e.details : {});

// The message key of what happened; null for a kind this client does not know.
export function whatKey(e) {
  if (e.kind === "recording_marker") {
    const key = RECORDING_MARKERS[detailsOf(e).marker];
    if (typeof key === "string") return key;
  }
  const key = KINDS[e.kind];
  return typeof key === "string" ? key : null;
}

// [key, params] of what the details add, or null.
function detail(e) {
  const details = detailsOf(e);
  let key = null;
  if (e.kind === "muted" || e.kind === "unmuted") key = DETAILS[details.kind];
  else if (e.kind === "left") key = DETAILS[details.reason];
  else if (e.kind === "consultation_ended" && details.recalled === true) key = DETAILS.recalled;
  else if (e.kind === "recording_marker" && typeof details.reason === "string" && details.reason) {
    // A failure's cause is the server's own words (an OS error): shown as it is.
    if (details.marker === "failed") return ["protocol.detail.failure", { reason: details.reason }];
    key = DETAILS[details.reason];
  }
  return typeof key === "string" ? [key, null] : null;
}

function who(e) {
  const actor = e.actor && e.actor.name ? e.actor.name : "";
  const subject = e.subject && e.subject.name ? e.subject.name : "";
  if (actor && subject && subject !== actor) return `${actor} → ${subject}`;
  return actor || subject;
}

function render(list) {
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 24;
  const ordered = [...entries.values()].sort((a, b) => a.seq - b.seq);
  syncRows(list, ordered, {
    key: (e) => e.seq,
    templateId: "protocol-row-template",
    update: (row, e) => {
      row.dataset.protocolKind = e.kind;
      const time = row.querySelector(".proto-time");
      time.dateTime = e.at;
      setPlainText(time, clockTime(e.at));
      if (e.kind === "recording_marker") row.dataset.marker = String(detailsOf(e).marker || "");
      else delete row.dataset.marker;
      const what = row.querySelector(".proto-what");
      const key = whatKey(e);
      if (key) setText(what, key);
      else setPlainText(what, e.kind); // a newer server's kind: shown as it is
      const more = row.querySelector(".proto-detail");
      const added = detail(e);
      if (added) setText(more, added[0], added[1]);
      else setPlainText(more, "");
      more.hidden = !added;
      setPlainText(row.querySelector(".proto-who"), who(e));
    },
  });
  if (atBottom) list.scrollTop = list.scrollHeight; // follow new entries unless reading back
}

// The whole protocol so far (join ack). Merged, not replaced: an entry
// appended by someone else's act may have come as an event before our ack.
export function showProtocol(list, events) {
  for (const e of Array.isArray(events) ? events : []) if (isEvent(e)) entries.set(e.seq, e);
  render(list);
}

export function addProtocolEvent(list, event) {
  if (!isEvent(event)) return;
  entries.set(event.seq, event);
  render(list);
}
