// The page around the tiles: connection state, header, notices, the error,
// "left" and "closed" panels, the control bar and the language switcher.
//
// `document.body.dataset.state` is one of rules (reading the court's rules,
// not joined yet), connecting, joined, error, left, closed (the hearing is
// over: final); CSS shows the matching panel. On error `dataset.error` holds
// the code. Where a joined participant is (waiting room, hearing...) is
// `dataset.place` (place.js), the hearing's state `dataset.hearingState`
// (hearing-status.js).

import {
  currentLanguage,
  errorKey,
  setAriaLabel,
  setPlainText,
  setRoleText,
  setText,
} from "./i18n.js";

const STATE_KEYS = {
  rules: "state.rules",
  selftest: "state.selftest",
  closed: "state.closed",
  connecting: "state.connecting",
  reconnecting: "state.reconnecting",
  joined: "state.joined",
  error: "state.error",
  left: "state.left",
  "kiosk-setup": "state.kiosk_setup",
  "kiosk-idle": "state.kiosk_idle",
};

const LOCKED_KEYS = { audio: "control.mic_locked", video: "control.camera_locked" };

const TOGGLE_KEYS = {
  audio: { on: "control.mic_mute", off: "control.mic_unmute" },
  video: { on: "control.camera_off", off: "control.camera_on" },
};

const $ = (id) => document.getElementById(id);
// Kinds the court has muted and locked: their toggle stays off and disabled
// until the court lifts the lock (the server would refuse an unmute anyway).
const locked = { audio: false, video: false };
const available = { audio: false, video: false };
const toggleButton = (kind) => (kind === "audio" ? $("btn-mic") : $("btn-camera"));

// `state`: rules | connecting | joined | error | left | closed; `label` only refines the
// visible status (e.g. "reconnecting" while the state stays connecting).
export function setState(state, label = state) {
  document.body.dataset.state = state;
  if (state !== "error") delete document.body.dataset.error;
  setText($("conn-state"), STATE_KEYS[label] || STATE_KEYS[state]);
}

export function showError(code) {
  setState("error");
  document.body.dataset.error = code;
  setText($("error-text"), errorKey(code));
  hideNotice();
  $("btn-retry").focus();
}

// The hearing is over: the final screen, nothing more to do on this page.
export function showClosed() {
  setState("closed");
  hideNotice(); // the panel says it
  $("closed-panel").focus();
}

export function showLeft() {
  setState("left");
  hideNotice();
  $("btn-rejoin").focus();
}

// A non-fatal message, by i18n key (see also noticeForError). `code` names
// what it is about (a court notice's code) on `#notice[data-notice]`.
export function showNotice(key, { code = null } = {}) {
  const notice = $("notice");
  setText($("notice-text"), key);
  if (code) notice.dataset.notice = code;
  else delete notice.dataset.notice;
  notice.hidden = false;
}

export function noticeForError(code) {
  showNotice(errorKey(code));
}

export function hideNotice() {
  $("notice").hidden = true;
  delete $("notice").dataset.notice;
}

// The join acknowledgement names the hearing: show its case number, not the opaque id.
export function showHearing(hearing) {
  if (hearing && typeof hearing.case_number === "string" && hearing.case_number) {
    setPlainText($("hearing-id"), hearing.case_number);
  }
}

export function showIdentity(claims) {
  setPlainText($("hearing-id"), claims.hearing ? String(claims.hearing) : "");
  setPlainText($("whoami-name"), claims.name ? String(claims.name) : "");
  setRoleText($("whoami-role"), claims.role);
}

// Which toggles apply: a kind we do not send has its button hidden.
export function setMediaControls({ audio, video }) {
  available.audio = audio;
  available.video = video;
  for (const kind of ["audio", "video"]) {
    const button = toggleButton(kind);
    button.hidden = !available[kind];
    button.disabled = !available[kind] || locked[kind];
  }
  document.body.classList.toggle("receive-only", !audio && !video);
}

// The court's lock on a kind (self.mute_locked): the toggle cannot turn it on.
export function setToggleLocked(kind, isLocked) {
  locked[kind] = isLocked;
  const button = toggleButton(kind);
  button.classList.toggle("is-locked", isLocked);
  button.disabled = !available[kind] || isLocked;
  if (isLocked) setAriaLabel(button, LOCKED_KEYS[kind]);
  else setToggle(kind, button.classList.contains("is-off"));
}

// Before the camera is open: the buttons the token allows, not yet usable.
export function prepareMediaControls({ audio, video }) {
  setMediaControls({ audio, video });
  // Not usable until setMediaControls says what was actually opened (a lock
  // lifted meanwhile must not enable them either).
  available.audio = false;
  available.video = false;
  $("btn-mic").disabled = true;
  $("btn-camera").disabled = true;
}

export function setToggle(kind, muted) {
  const button = toggleButton(kind);
  button.classList.toggle("is-off", muted);
  if (locked[kind]) return; // the label says why it cannot be turned on
  setAriaLabel(button, muted ? TOGGLE_KEYS[kind].off : TOGGLE_KEYS[kind].on);
}

export function bindControls({ onToggle, onLeave, onRetry, onRejoin, onLanguage, onUnlockSound }) {
  $("btn-mic").addEventListener("click", () => onToggle("audio"));
  $("btn-camera").addEventListener("click", () => onToggle("video"));
  $("btn-leave").addEventListener("click", () => onLeave());
  $("btn-retry").addEventListener("click", () => onRetry());
  $("btn-rejoin").addEventListener("click", () => onRejoin());
  $("btn-unlock-audio").addEventListener("click", () => onUnlockSound());
  $("notice-close").addEventListener("click", () => hideNotice());
  const select = $("lang-select");
  select.value = currentLanguage();
  select.addEventListener("change", () => onLanguage(select.value));
}

export function syncLanguageSelect() {
  $("lang-select").value = currentLanguage();
}
