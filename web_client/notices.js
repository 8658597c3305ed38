// The court's `notice` events (docs/signaling.md, "Server → client events"):
// why something happened to this participant, as a message in their language.
// What the notice changes (a muted microphone, the end of the page) is done by
// the module concerned; this one only says it.

import * as ui from "./ui.js";

// A notice says what just happened; left on the screen it would mislead later
// ("you were admitted" during a recess), so it goes after a while unless
// something newer has replaced it. Errors (ui.noticeForError) stay.
const SHOWN_MS = 12000;
let shownCount = 0;

// code -> message key; for the codes that concern a microphone or a camera,
// one key per `kind`.
const MESSAGES = {
  admitted: "notice.admitted",
  dismissed: "notice.dismissed",
  called_in: "notice.called_in",
  muted_by_court: { audio: "notice.muted_audio", video: "notice.muted_video" },
  mute_released: { audio: "notice.released_audio", video: "notice.released_video" },
  removed: "notice.removed",
  consultation_started: "notice.consultation_started",
  consultation_ended: "notice.consultation_ended",
  consultation_recalled: "notice.consultation_recalled",
  hearing_closed: "notice.hearing_closed",
};

function messageKey(code, kind) {
  const entry = MESSAGES[code];
  if (typeof entry === "string") return entry;
  if (entry && typeof entry === "object") return entry[kind] || entry.audio;
  return null;
}

// Show a notice; unknown codes (a newer server) are logged, not shown raw.
export function showCourtNotice(notice) {
  const code = notice && typeof notice.code === "string" ? notice.code : "";
  const key = messageKey(code, notice ? notice.kind : null);
  if (!key) {
    console.warn("tyndau: unknown notice", notice);
    return;
  }
  ui.showNotice(key, { code });
  const shown = ++shownCount;
  window.setTimeout(() => {
    if (shown === shownCount && document.getElementById("notice").dataset.notice === code) {
      ui.hideNotice();
    }
  }, SHOWN_MS);
}
