// The video tiles: the local preview and one tile per remote participant.
//
// A remote tile exists while the participant has at least one forwarded
// track. Its <video> plays one MediaStream holding that participant's audio
// and video. Remote videos play with sound; where the browser blocks that
// (iOS, no user gesture yet) they play muted and a "tap to enable sound"
// button appears. A tile also shows a raised hand, and a "Private
// consultation" button where the participant may be consulted.

import { setPlainText, setRoleText, setText, translate } from "./i18n.js";

const remoteTiles = new Map(); // participant id -> {tile, video, stream}
let soundBlocked = false;

const $ = (id) => document.getElementById(id);

function initials(name) {
  return String(name || "")
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((word) => word[0].toUpperCase())
    .join("");
}

function hasLiveVideo(stream) {
  return stream.getVideoTracks().some((track) => track.readyState === "live");
}

// ---- remote tiles ----

function play(video) {
  const attempt = video.play();
  if (!attempt) return;
  attempt.catch((err) => {
    if (err.name !== "NotAllowedError") return; // AbortError: a newer load replaced this one
    // Sound needs a user gesture here: play muted for now, offer the button.
    video.muted = true;
    video.play().catch(() => {});
    soundBlocked = true;
    $("btn-unlock-audio").hidden = false;
  });
}

export function unlockSound() {
  soundBlocked = false;
  $("btn-unlock-audio").hidden = true;
  for (const { video } of remoteTiles.values()) {
    video.muted = false;
    play(video);
  }
}

function createTile(participantId) {
  const template = $("remote-tile-template");
  const tile = template.content.firstElementChild.cloneNode(true);
  tile.dataset.participantId = participantId;
  const video = tile.querySelector("video");
  video.muted = soundBlocked;
  const stream = new MediaStream();
  video.srcObject = stream;
  translate(tile);
  $("grid").append(tile);
  const entry = { tile, video, stream };
  remoteTiles.set(participantId, entry);
  return entry;
}

function render(entry, participant) {
  const { tile, stream } = entry;
  const nameEl = tile.querySelector(".tile-name");
  if (participant && participant.name) setPlainText(nameEl, participant.name);
  else setText(nameEl, "tile.unknown_participant");
  setRoleText(tile.querySelector(".tile-role"), participant ? participant.role : "");
  tile.querySelector(".tile-initials").textContent = initials(participant && participant.name);
  tile.setAttribute("aria-label", participant && participant.name ? participant.name : "");
  const muted = (participant && participant.muted) || {};
  tile.classList.toggle("mic-off", muted.audio === true);
  tile.classList.toggle("video-off", muted.video === true || !hasLiveVideo(stream));
  tile.classList.toggle("hand-raised", Boolean(participant && participant.hand_raised));
  // The server says per viewer whom this participant may consult in private
  // (consultation.js handles the press; CSS shows it only in the hearing).
  const consult = tile.querySelector('button[data-action="consult"]');
  consult.dataset.participantId = tile.dataset.participantId;
  consult.hidden = !(participant && participant.can_consult === true);
}

export function addRemoteTrack(participantId, track, participant) {
  const entry = remoteTiles.get(participantId) || createTile(participantId);
  if (!entry.stream.getTracks().includes(track)) {
    entry.stream.addTrack(track);
    // Re-attach so every browser picks up a track added to a playing stream.
    entry.video.srcObject = entry.stream;
  }
  entry.participant = participant;
  render(entry, participant);
  play(entry.video);
}

export function removeRemoteTrack(participantId, track) {
  const entry = remoteTiles.get(participantId);
  if (!entry || !entry.stream.getTracks().includes(track)) return;
  entry.stream.removeTrack(track);
  if (entry.stream.getTracks().length === 0) removeTile(participantId);
  else render(entry, entry.participant);
}

export function updateRemote(participant) {
  const entry = remoteTiles.get(participant.id);
  if (!entry) return;
  entry.participant = participant;
  render(entry, participant);
}

export function removeTile(participantId) {
  const entry = remoteTiles.get(participantId);
  if (!entry) return;
  remoteTiles.delete(participantId);
  entry.video.srcObject = null;
  entry.tile.remove();
}

export function clearRemote() {
  for (const participantId of [...remoteTiles.keys()]) removeTile(participantId);
}

// ---- local preview ----

export function showLocal(stream, claims) {
  const tile = $("local-tile");
  const video = tile.querySelector("video");
  video.srcObject = stream;
  video.play().catch(() => {}); // muted: never blocked; AbortError is harmless
  setPlainText($("local-name"), claims.name ? String(claims.name) : "");
  setRoleText($("local-role"), claims.role);
  tile.querySelector(".tile-initials").textContent = initials(claims.name);
  tile.classList.toggle("video-off", stream.getVideoTracks().length === 0);
  tile.hidden = false;
}

export function hideLocal() {
  const tile = $("local-tile");
  tile.hidden = true;
  tile.querySelector("video").srcObject = null;
}

export function setLocalMuted(kind, muted, stream) {
  const tile = $("local-tile");
  if (kind === "audio") tile.classList.toggle("mic-off", muted);
  if (kind === "video") {
    const noVideo = !stream || stream.getVideoTracks().length === 0;
    tile.classList.toggle("video-off", muted || noVideo);
  }
}
