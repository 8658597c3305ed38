// The caption of who is speaking (`speaker` events, decided by the server from
// the audio levels in the RTP it forwards): "Speaking: <name> (<role>)" in a
// polite live region, and the speaker's tile highlighted.

import { setPlainText, setRoleText } from "./i18n.js";

const $ = (id) => document.getElementById(id);

// `payload`: {speaker: {participant_id, name, role} | null}; `selfId`: this participant.
export function showSpeaker(payload, selfId) {
  const speaker = payload && payload.speaker && typeof payload.speaker === "object"
    ? payload.speaker
    : null;
  const caption = $("speaker-caption");
  for (const tile of document.querySelectorAll(".is-speaking")) tile.classList.remove("is-speaking");
  if (!speaker || typeof speaker.participant_id !== "string") {
    caption.hidden = true;
    delete caption.dataset.speaker;
    return;
  }
  caption.dataset.speaker = speaker.participant_id;
  setPlainText($("speaker-name"), String(speaker.name || ""));
  setRoleText($("speaker-role"), speaker.role);
  caption.hidden = false;
  const tile = speaker.participant_id === selfId
    ? $("local-tile")
    : document.querySelector(`.tile[data-participant-id="${CSS.escape(speaker.participant_id)}"]`);
  if (tile) tile.classList.add("is-speaking");
}

export function hideSpeaker() {
  showSpeaker(null, null);
}
