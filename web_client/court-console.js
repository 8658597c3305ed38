// The judge's and secretary's console, shown when the join ack's
// `permissions` include see_waiting_room: the state buttons, the waiting
// room, the consultations going on, everyone else with the court's controls,
// the live protocol, and the recording's state with its alert
// (recording-state.js). Every control is shown only when `permissions` allow
// it; the server checks each act again and refuses what the role may not do.
//
// The participants are the app's own map (kept by participant_joined /
// _updated / _left); the console re-renders from it, at most once per burst
// of events.

import { confirmAction } from "./confirm.js";
import { renderConsultations, runningConsultations } from "./consultation-list.js";
import { hearingState } from "./hearing-status.js";
import { addProtocolEvent, showProtocol } from "./protocol-view.js";
import { hideRecording, recordingAlert, recordingMarker, showRecording } from "./recording-state.js";
import { renderRoster } from "./roster.js";
import { renderStateControls } from "./state-controls.js";
import { renderWaitingRoom } from "./waiting-room.js";

const $ = (id) => document.getElementById(id);

const court = {
  active: false,
  permissions: new Set(),
  stateActs: [], // the join ack's `state_acts`: what this role may do to the state
  hearing: null,
  participants: new Map(), // the app's map: id -> Participant
  qualities: new Map(), // id -> quality from `quality` events, newer than the record
  startedAt: new Map(), // consultation id -> ISO time it started
  request: null,
  renderQueued: false,
};

// `request(event, payload)` sends a procedure event; it reports refusals
// itself and resolves to null then.
export function startConsole({ permissions, hearing, participants, joinAck, request }) {
  court.active = permissions.has("see_waiting_room");
  document.body.classList.toggle("court", court.active);
  $("console").hidden = !court.active;
  if (!court.active) return;
  court.permissions = permissions;
  court.stateActs = Array.isArray(joinAck.state_acts) ? joinAck.state_acts : [];
  court.hearing = hearing;
  court.participants = participants;
  court.request = request;
  for (const c of Array.isArray(joinAck.consultations) ? joinAck.consultations : []) {
    if (c && typeof c.id === "string") court.startedAt.set(c.id, c.started_at);
  }
  $("protocol-section").hidden = !permissions.has("see_protocol");
  showProtocol($("protocol-list"), joinAck.protocol);
  showRecording(joinAck.protocol);
  bindOnce();
  refreshConsole();
}

// Nothing to control any more (left, failed): the console goes away.
export function stopConsole() {
  court.active = false;
  document.body.classList.remove("court");
  $("console").hidden = true;
  hideRecording();
}

export function refreshConsole() {
  if (!court.active || court.renderQueued) return;
  court.renderQueued = true;
  queueMicrotask(() => {
    court.renderQueued = false;
    if (court.active) render();
  });
}

export function consoleParticipantChanged(participant) {
  court.qualities.delete(participant.id); // its record carries the latest grade
  refreshConsole();
}

export function consoleHearing(hearing) {
  court.hearing = hearing;
  refreshConsole();
}

// `quality` event: {participants: {id: quality}}.
export function consoleQuality(payload) {
  const grades = payload && typeof payload.participants === "object" ? payload.participants : null;
  if (!grades) return;
  for (const [id, quality] of Object.entries(grades)) court.qualities.set(id, quality);
  refreshConsole();
}

export function consoleProtocolEvent(event) {
  if (!event || typeof event !== "object") return;
  const details = event.details && typeof event.details === "object" ? event.details : {};
  if (event.kind === "consultation_started" && typeof details.consultation === "string") {
    court.startedAt.set(details.consultation, event.at);
  }
  // Rendered even before the join ack: the court room gets events from the join on.
  addProtocolEvent($("protocol-list"), event);
  recordingMarker(event);
  refreshConsole();
}

// `recording_alert` (the court only): the capture failed, the hearing goes on.
export function consoleRecordingAlert(alert) {
  if (!alert || typeof alert !== "object" || alert.code !== "recording_failed") {
    console.warn("tyndau: unknown recording alert", alert);
    return;
  }
  recordingAlert(alert);
}

function qualityOf(participant) {
  return court.qualities.get(participant.id) || participant.quality;
}

function render() {
  const everyone = [...court.participants.values()];
  renderStateControls($("state-controls"), {
    hearingState: hearingState(court.hearing),
    stateActs: court.stateActs,
    permissions: court.permissions,
  });
  renderWaitingRoom(
    $("waiting-section"),
    everyone.filter((p) => p.place === "waiting"),
    court.permissions,
  );
  renderConsultations(
    $("consultations-section"),
    runningConsultations(court.participants),
    court.startedAt,
    court.permissions,
  );
  renderRoster(
    $("roster-section"),
    everyone.filter((p) => p.place !== "waiting"),
    court.permissions,
    qualityOf,
  );
}

// ---- acts ----

function nameOf(participantId) {
  const p = court.participants.get(participantId);
  return p && p.name ? p.name : participantId;
}

async function perform(button) {
  const action = button.dataset.action;
  const row = button.closest("[data-participant-id]");
  const participantId = row ? row.dataset.participantId : null;
  switch (action) {
    case "admit":
    case "call_in":
    case "dismiss":
      return court.request(action, { participant_id: participantId });
    case "admit_all":
      return court.request("admit_all", {});
    case "mute":
      return court.request("mute", {
        participant_id: participantId,
        kind: button.dataset.kind,
        locked: true, // the court's mute holds until the court lifts it
      });
    case "release_mute":
      return court.request("release_mute", {
        participant_id: participantId,
        kind: button.dataset.kind,
      });
    case "remove": {
      const sure = await confirmAction({
        question: "confirm.remove",
        confirmLabel: "console.remove",
        params: { name: nameOf(participantId) },
      });
      return sure ? court.request("remove", { participant_id: participantId }) : null;
    }
    case "set_state": {
      const act = button.dataset.act;
      if (act === "close") {
        const sure = await confirmAction({ question: "confirm.close", confirmLabel: "act.close" });
        if (!sure) return null;
      }
      return court.request("set_state", { act });
    }
    case "recall": {
      const consultation = button.closest("[data-consultation-id]");
      if (!consultation) return null;
      return court.request("recall_consultation", {
        consultation_id: consultation.dataset.consultationId,
      });
    }
    default:
      return null;
  }
}

function bindOnce() {
  const root = $("console");
  if (root.dataset.bound) return;
  root.dataset.bound = "1";
  root.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button || !root.contains(button) || button.disabled) return;
    button.disabled = true; // one act per press, until the server answered
    perform(button)
      .catch((err) => console.error("tyndau: court act failed", err))
      .finally(() => {
        button.disabled = false;
      });
  });
}
