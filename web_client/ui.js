// The page around the tiles: connection state, header, notices, the error
// and "left" panels, the control bar and the language switcher.
//
// `document.body.dataset.state` is one of connecting, joined, error, left
// (CSS shows the matching panel); on error `dataset.error` holds the code.

import { currentLanguage, errorKey, roleKey, setAriaLabel, setPlainText, setText } from "./i18n.js";

const STATE_KEYS = {
  connecting: "state.connecting",
  reconnecting: "state.reconnecting",
  joined: "state.joined",
  error: "state.error",
  left: "state.left",
};

const TOGGLE_KEYS = {
  audio: { on: "control.mic_mute", off: "control.mic_unmute" },
  video: { on: "control.camera_off", off: "control.camera_on" },
};

const $ = (id) => document.getElementById(id);
const toggleButton = (kind) => (kind === "audio" ? $("btn-mic") : $("btn-camera"));

// `state`: connecting | joined | error | left; `label` only refines the
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

export function showLeft() {
  setState("left");
  hideNotice();
  $("btn-rejoin").focus();
}

// A non-fatal message, by i18n key (see also noticeForError).
export function showNotice(key) {
  setText($("notice-text"), key);
  $("notice").hidden = false;
}

export function noticeForError(code) {
  showNotice(errorKey(code));
}

export function hideNotice() {
  $("notice").hidden = true;
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
  const roleEl = $("whoami-role");
  const key = roleKey(claims.role);
  if (key) setText(roleEl, key);
  else setPlainText(roleEl, claims.role ? String(claims.role) : "");
}

// Which toggles apply: a kind we do not send has its button hidden.
export function setMediaControls({ audio, video }) {
  for (const [kind, available] of [
    ["audio", audio],
    ["video", video],
  ]) {
    const button = toggleButton(kind);
    button.hidden = !available;
    button.disabled = !available;
  }
  document.body.classList.toggle("receive-only", !audio && !video);
}

// Before the camera is open: the buttons the token allows, not yet usable.
export function prepareMediaControls({ audio, video }) {
  setMediaControls({ audio, video });
  $("btn-mic").disabled = true;
  $("btn-camera").disabled = true;
}

export function setToggle(kind, muted) {
  const button = toggleButton(kind);
  button.classList.toggle("is-off", muted);
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
