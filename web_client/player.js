// Entry point of /player#case=<case id>&hearing=<hearing id>: a sealed
// recording with its protocol beside it.
//
// The session is the one /login keeps in sessionStorage (session.js), kept
// fresh here too. The video plays a playback link (recordings-api.js): the
// <video> element cannot send the session's header. A link lives ten
// minutes; when the video's requests start failing after that, a new link
// is fetched and playback goes on where it was. Ids travel in the fragment,
// so they never reach server logs.

import { errorCode, TyndauError } from "./errors.js";
import { currentLanguage, errorKey, initI18n, setPlainText, setText, switchLanguage } from "./i18n.js";
import { formatOffset, ProtocolList } from "./player-protocol.js";
import * as api from "./recordings-api.js";
import { clearSession, isExpired, loadSession, SessionKeeper } from "./session.js";

const MIXED = "mixed.mp4";
// At most one new link per this long: a file that really fails is not asked for in a loop.
const RELINK_MIN_MS = 5 * 1000;

const $ = (id) => document.getElementById(id);
const video = $("player-video");
const protocol = new ProtocolList({ list: $("player-events"), empty: $("player-protocol-empty"), video });

let target = { caseId: "", hearingId: "" };
let link = null; // {url, expiresAt}
let relinkedAt = 0;

const keeper = new SessionKeeper({
  onRefreshed: () => {},
  onEnded: () => showSignIn(),
});

function readTarget(location = window.location) {
  const fragment = new URLSearchParams(location.hash.replace(/^#/, ""));
  return { caseId: (fragment.get("case") || "").trim(), hearingId: (fragment.get("hearing") || "").trim() };
}

function writeTarget() {
  const fragment = new URLSearchParams({ case: target.caseId, hearing: target.hearingId });
  const url = new URL(window.location.href);
  url.hash = fragment.toString();
  window.history.replaceState(window.history.state, "", url);
}

function setState(state) {
  document.body.dataset.state = state;
  $("player-signin").hidden = state !== "signed-out";
  $("player-error").hidden = state !== "error";
  $("player-layout").hidden = state !== "ready";
}

function showSignIn() {
  video.removeAttribute("src");
  video.load();
  setState("signed-out");
}

function showError(err) {
  const code = errorCode(err);
  console.warn("tyndau: the recording cannot be shown", code, err);
  if (err && err.status === 401) {
    clearSession();
    keeper.stop();
    showSignIn();
    return;
  }
  document.body.dataset.error = code;
  // A refusal says who may see a case's recordings, not just "forbidden".
  setText($("player-error-text"), code === "forbidden" ? "player.forbidden" : errorKey(code));
  setState("error");
}

const token = () => (keeper.session ? keeper.session.token : "");

// "30.11.2026 14:05" in local time: browsers lack Kazakh date names, and the
// same digits read the same in every interface language.
function formatDate(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const two = (n) => String(n).padStart(2, "0");
  const day = `${two(date.getDate())}.${two(date.getMonth() + 1)}.${date.getFullYear()}`;
  return `${day} ${two(date.getHours())}:${two(date.getMinutes())}`;
}

function fillHearings(recordings) {
  const select = $("player-hearing-select");
  select.replaceChildren();
  for (const recording of recordings) {
    const option = document.createElement("option");
    option.value = recording.hearing_id;
    const when = recording.scheduled_at ? formatDate(recording.scheduled_at) : formatDate(recording.sealed_at);
    option.textContent = [when, recording.title].filter(Boolean).join(" · ");
    select.append(option);
  }
  select.value = target.hearingId;
  $("player-hearing-choice").hidden = recordings.length < 2;
}

async function play(hearingId, { at = 0, resume = false } = {}) {
  link = await api.playbackLink(token(), hearingId, MIXED);
  video.src = link.url;
  if (at > 0) {
    video.addEventListener("loadedmetadata", () => (video.currentTime = at), { once: true });
  }
  if (resume) void video.play().catch(() => {});
  $("player-download").hidden = false;
}

async function openRecording(hearingId) {
  const details = await api.recordingDetails(token(), hearingId);
  const recording = details.recording;
  setPlainText($("player-title"), recording.title || hearingId);
  const duration = $("player-duration");
  if (typeof recording.duration_seconds === "number") {
    setText(duration, "player.duration", { time: formatOffset(recording.duration_seconds) });
  } else {
    setPlainText(duration, "");
  }
  setText($("player-sealed"), "player.sealed", { date: formatDate(recording.sealed_at) });
  protocol.show(details.protocol && Array.isArray(details.protocol.events) ? details.protocol.events : []);
  const names = recording.files.map((f) => f.name);
  if (!names.includes(MIXED)) throw new TyndauError("recording_not_found", "no mixed recording");
  await play(hearingId);
  setState("ready");
}

async function load() {
  setState("loading");
  const listing = await api.caseRecordings(token(), target.caseId);
  const kase = listing.case;
  setText($("player-case"), "player.case", { number: kase.case_number || "", court: kase.court || "" });
  if (listing.recordings.length === 0) throw new TyndauError("no_recordings", "nothing sealed yet");
  const ids = listing.recordings.map((r) => r.hearing_id);
  if (!ids.includes(target.hearingId)) {
    target.hearingId = ids[ids.length - 1]; // the newest hearing, when the link names none
    writeTarget();
  }
  fillHearings(listing.recordings);
  await openRecording(target.hearingId);
}

// The link has expired (or the session behind it ended): a new one, from where we were.
async function relink() {
  if (!link || Date.now() - relinkedAt < RELINK_MIN_MS || document.body.dataset.state !== "ready") return;
  relinkedAt = Date.now();
  const at = video.currentTime;
  const resume = !video.paused;
  try {
    await play(target.hearingId, { at, resume });
  } catch (err) {
    showError(err);
  }
}

async function download(event) {
  event.preventDefault();
  try {
    const fresh = await api.playbackLink(token(), target.hearingId, MIXED);
    window.location.assign(`${fresh.url}&download=1`);
  } catch (err) {
    showError(err);
  }
}

async function main() {
  await initI18n();
  const select = $("lang-select");
  select.value = currentLanguage();
  select.addEventListener("change", () => void switchLanguage(select.value).then(() => (select.value = currentLanguage())));
  target = readTarget();
  if (!target.caseId) {
    showError(new TyndauError("player_link_invalid", "the link names no case"));
    return;
  }
  const session = loadSession();
  if (!session || isExpired(session)) {
    clearSession();
    showSignIn();
    return;
  }
  keeper.start(session);
  video.addEventListener("error", () => void relink());
  $("player-download").addEventListener("click", (event) => void download(event));
  $("player-hearing-select").addEventListener("change", (event) => {
    target.hearingId = event.target.value;
    writeTarget();
    setState("loading");
    openRecording(target.hearingId).catch(showError);
  });
  try {
    await load();
  } catch (err) {
    showError(err);
  }
}

void main();
