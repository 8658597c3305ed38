// Entry point: the join flow of docs/signaling.md.
//
//   1. read the token from `/join#token=<JWT>`, show who joins which hearing;
//   2. connect to `/hearing` with auth.token, `join`;
//   3. with publish grants: getUserMedia, publish (offer/answer, trickle);
//   4. answer every `subscribe_offer`, one at a time;
//   5. mute toggles (`set_mute`), `leave`.
//
// Before 1., a party reads the court's rules (rules.js). After the join, the
// hearing procedure (docs/signaling.md, "Hearing procedure"): where this
// participant is (place.js), the hearing's state (hearing-status.js), the
// court's notices (notices.js), the raised hand (hand.js), consultations
// (consultation.js) and, for the judge and secretary, the console
// (court-console.js) with the recording's state (recording-state.js). A
// closed hearing ends the page on its final screen.
//
// A dropped connection is re-joined when Socket.IO reconnects (the server sees
// a new session: both peer connections are made anew, the camera is kept).
// Media that stops while signaling still works is rebuilt the same way
// (media-watch.js: the server cannot restart ICE). With several nodes the
// connection follows the hearing (signaling.js): `wrong_node` redirects to the
// node that serves it, and a node that died sends it back to the entry, which
// redirects to the hearing's new node; here that is one more reconnect.
//
// On `/kiosk` (kiosk.js) a facility's video unit drives the same flow with
// tokens it fetches itself: no rules to accept, no leave, no mic or camera
// toggles; an ended session hands the screen back to the kiosk.

import { bindConsultation } from "./consultation.js";
import {
  consoleHearing,
  consoleParticipantChanged,
  consoleProtocolEvent,
  consoleQuality,
  consoleRecordingAlert,
  refreshConsole,
  startConsole,
  stopConsole,
} from "./court-console.js";
import { errorCode } from "./errors.js";
import { hideHand, setupHand, showHand } from "./hand.js";
import { helpUpdate, hideHelp, setupHelp } from "./help.js";
import { helpListUpdate, startHelpList } from "./help-list.js";
import { courtMessage, startCourtChat } from "./court-chat.js";
import { hideReceiveMode, setupReceiveMode } from "./receive-mode.js";
import { hideSpeaker, showSpeaker } from "./speaker-caption.js";
import { hearingState, showHearingState } from "./hearing-status.js";
import { initI18n, switchLanguage } from "./i18n.js";
import { isKioskPage, runKiosk } from "./kiosk.js";
import { rtcConfiguration } from "./ice-config.js";
import { acquireLocalMedia, stopLocalMedia } from "./local-media.js";
import { MediaWatch } from "./media-watch.js";
import { showCourtNotice } from "./notices.js";
import { showPlace, showWaitingFor } from "./place.js";
import { Publisher } from "./publisher.js";
import { Signaling } from "./signaling.js";
import { Subscriber } from "./subscriber.js";
import * as tiles from "./tiles.js";
import { decodeClaims, publishGrants, readInvite, readToken } from "./token.js";
import { redeemInvitation } from "./auth-api.js";
import { acknowledgeRules } from "./rules.js";
import { isExpired, loadSession } from "./session.js";
import * as ui from "./ui.js";
import { facingOf, hasSeveralCameras, switchCamera } from "./camera-switch.js";
import { watchPageReturn } from "./page-return.js";
import { openSelfTest, reportSelfTest, selfTestBeforeJoin } from "./self-test.js";

const participants = new Map(); // remote participant id -> Participant

// The server closing our connection (shutdown, restart) is answered by a
// reconnect, unless it keeps happening.
const SERVER_CLOSE_RETRY_MS = 1500;
const SERVER_CLOSE_LIMIT = 3;
const SERVER_CLOSE_WINDOW_MS = 60000;

const session = {
  token: null,
  claims: null,
  signaling: null,
  publisher: null,
  subscriber: null,
  localStream: null,
  self: null,
  hearing: null,
  permissions: new Set(), // actions of the join ack's `permissions`
  joinedOnce: false,
  leaving: false,
  serverCloses: [],
  // Kiosk mode: called with the code instead of showing an error or the end.
  onEnded: null,
};

// Peer connections that failed while signaling is up: reconnect and rejoin.
const mediaWatch = new MediaWatch(
  () => [session.publisher && session.publisher.pc, session.subscriber && session.subscriber.pc],
  () => rebuildConnections(),
);

function rebuildConnections() {
  const signaling = session.signaling;
  if (!signaling || !signaling.connected) return; // a reconnect is under way already
  console.warn("tyndau: media lost; reconnecting to rebuild the peer connections");
  signaling.reconnect();
}

// Debugging and browser-test hook (part of the client's contract).
window.tyndau = {
  get socket() {
    return session.signaling ? session.signaling.socket : null;
  },
  participants,
  get publishPc() {
    return session.publisher ? session.publisher.pc : null;
  },
  get subscribePc() {
    return session.subscriber ? session.subscriber.pc : null;
  },
  get self() {
    return session.self;
  },
  get hearing() {
    return session.hearing;
  },
  get permissions() {
    return [...session.permissions];
  },
};

function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {}); // a failed join is reported where it happens
  return { promise, resolve, reject };
}

// ---- participants ----

function isParticipant(p) {
  return p !== null && typeof p === "object" && typeof p.id === "string" && p.id !== "";
}

function isSelf(p) {
  return p.id === (session.self ? session.self.id : session.claims && session.claims.sub);
}

function upsertParticipant(p) {
  if (!isParticipant(p)) return;
  if (isSelf(p)) {
    showSelf(p);
    return;
  }
  participants.set(p.id, p);
  tiles.updateRemote(p);
  consoleParticipantChanged(p);
}

function removeParticipant(id) {
  participants.delete(id);
  tiles.removeTile(id);
  refreshConsole();
}

// This participant's own record (join ack, `self_updated`, acks): where they
// are, their raised hand, the court's locks on their microphone and camera.
function showSelf(p) {
  session.self = p;
  showPlace(p);
  showHand(p);
  const locks = p.mute_locked && typeof p.mute_locked === "object" ? p.mute_locked : {};
  for (const kind of ["audio", "video"]) ui.setToggleLocked(kind, locks[kind] === true);
}

// ---- the procedure ----

// Send a procedure event; a refusal is shown as a notice and gives null.
async function request(event, payload) {
  const signaling = session.signaling;
  if (!signaling || !signaling.connected) {
    ui.noticeForError("connection_lost");
    return null;
  }
  try {
    const result = await signaling.request(event, payload);
    if (result && isParticipant(result.participant) && isSelf(result.participant)) {
      showSelf(result.participant);
    }
    return result;
  } catch (err) {
    if (signaling !== session.signaling) return null; // the page has moved on (closed, left)
    console.warn(`tyndau: ${event} refused`, err);
    ui.noticeForError(errorCode(err));
    return null;
  }
}

function onNotice(notice) {
  const code = notice && typeof notice.code === "string" ? notice.code : null;
  if (code === "hearing_closed") {
    finishClosed();
    return;
  }
  if (code === "removed") {
    fail("removed"); // the server revokes the token and disconnects us
    return;
  }
  // The court's mute takes effect here too: the track goes off, not just a flag.
  if (code === "muted_by_court" && notice.kind) turnOffLocally(notice.kind);
  // A kiosk has no toggles of its own: the court's release turns it back on.
  if (code === "mute_released" && notice.kind && session.onEnded) void turnOnLocally(notice.kind);
  showCourtNotice(notice);
}

function onHearingState(payload) {
  const hearing = payload && typeof payload.hearing === "object" ? payload.hearing : null;
  if (!hearing) return;
  session.hearing = hearing;
  showHearingState(hearing);
  consoleHearing(hearing);
  if (hearingState(hearing) === "closed") finishClosed();
}

// ---- media ----

function closeMedia() {
  mediaWatch.stop();
  if (session.publisher) session.publisher.close();
  if (session.subscriber) session.subscriber.close();
  session.publisher = null;
  session.subscriber = null;
  session.self = null;
  participants.clear();
  tiles.clearRemote();
  refreshConsole();
}

function releaseCamera() {
  stopLocalMedia(session.localStream);
  session.localStream = null;
  tiles.hideLocal();
}

function isCurrent(signaling) {
  return signaling === session.signaling && signaling.connected;
}

function localTrack(kind) {
  const stream = session.localStream;
  return stream ? stream.getTracks().find((track) => track.kind === kind) || null : null;
}

async function ensureLocalMedia(wanted) {
  if (session.localStream) return session.localStream;
  try {
    const { stream, missing } = await acquireLocalMedia(wanted);
    session.localStream = stream;
    if (missing === "video") ui.showNotice("notice.audio_only");
    if (missing === "audio") ui.showNotice("notice.video_only");
  } catch (err) {
    console.warn("tyndau: no camera/microphone, joining receive-only", err);
    ui.noticeForError(errorCode(err));
  }
  return session.localStream;
}

async function startPublishing(signaling, rtcConfig) {
  const wanted = publishGrants(session.claims);
  if (!wanted.audio && !wanted.video) {
    ui.setMediaControls({ audio: false, video: false });
    return;
  }
  const stream = await ensureLocalMedia(wanted);
  if (!isCurrent(signaling)) return;
  if (!stream) {
    ui.setMediaControls({ audio: false, video: false });
    return;
  }
  // Send only what the token grants.
  for (const track of stream.getTracks()) {
    if (!wanted[track.kind]) {
      stream.removeTrack(track);
      track.stop();
    }
  }
  tiles.showLocal(stream, session.claims);
  void showCameraSwitch(stream);
  ui.setMediaControls({
    audio: stream.getAudioTracks().length > 0,
    video: stream.getVideoTracks().length > 0,
  });
  for (const track of stream.getTracks()) {
    ui.setToggle(track.kind, !track.enabled);
    tiles.setLocalMuted(track.kind, !track.enabled, stream);
  }

  const publisher = new Publisher({
    signaling,
    rtcConfig,
    stream,
    onFailed: rebuildConnections,
  });
  session.publisher = publisher;
  try {
    await publisher.start();
  } catch (err) {
    if (session.publisher !== publisher) return;
    console.error("tyndau: publishing failed", err);
    publisher.close();
    session.publisher = null;
    ui.noticeForError(errorCode(err, "publish_failed"));
    return;
  }
  // After a reconnect the server starts us unmuted: tell it what is off.
  for (const track of stream.getTracks()) {
    if (!track.enabled) await sendMute(track.kind, true);
  }
}

async function sendMute(kind, muted) {
  const signaling = session.signaling;
  if (!signaling || !signaling.connected || !session.self) return;
  try {
    const { participant } = await signaling.request("set_mute", { kind, muted });
    if (isParticipant(participant)) session.self = participant;
  } catch (err) {
    console.warn("tyndau: set_mute refused", err);
    ui.noticeForError(errorCode(err));
  }
}

function turnOffLocally(kind) {
  const track = localTrack(kind);
  if (!track || !track.enabled) return;
  track.enabled = false;
  ui.setToggle(kind, true);
  tiles.setLocalMuted(kind, true, session.localStream);
}

async function turnOnLocally(kind) {
  const track = localTrack(kind);
  if (!track || track.enabled) return;
  track.enabled = true;
  ui.setToggle(kind, false);
  tiles.setLocalMuted(kind, false, session.localStream);
  await sendMute(kind, false);
}

async function toggleTrack(kind) {
  const track = localTrack(kind);
  if (!track) return;
  const locks = (session.self && session.self.mute_locked) || {};
  if (!track.enabled && locks[kind] === true) {
    ui.noticeForError("mute_locked"); // the court has not given the floor yet
    return;
  }
  track.enabled = !track.enabled;
  const muted = !track.enabled;
  ui.setToggle(kind, muted);
  tiles.setLocalMuted(kind, muted, session.localStream);
  await sendMute(kind, muted);
}

// ---- phones: camera switch, the self-test again, coming back to the page ----

async function showCameraSwitch(stream) {
  const button = document.getElementById("btn-camera-switch");
  button.hidden = !(stream.getVideoTracks().length > 0 && (await hasSeveralCameras()));
}

function showLocalCamera(stream) {
  tiles.showLocal(stream, session.claims);
  const track = localTrack("video");
  document.getElementById("local-tile").dataset.facing = facingOf(track);
  for (const t of stream.getTracks()) tiles.setLocalMuted(t.kind, !t.enabled, stream);
}

async function switchCameraNow() {
  const stream = session.localStream;
  if (!stream) return;
  const button = document.getElementById("btn-camera-switch");
  button.disabled = true;
  try {
    await switchCamera(stream, session.publisher ? session.publisher.pc : null);
  } catch (err) {
    console.warn("tyndau: camera switch failed", err);
    ui.noticeForError(errorCode(err));
  } finally {
    showLocalCamera(stream);
    button.disabled = false;
  }
}

function bindPhoneControls() {
  document.getElementById("btn-camera-switch").addEventListener("click", () => void switchCameraNow());
  document.getElementById("btn-selftest").addEventListener("click", () =>
    openSelfTest({
      claims: session.claims,
      stream: session.localStream,
      wanted: publishGrants(session.claims),
      signaling: session.signaling,
      rtcConfig: session.rtcConfig || {},
    }),
  );
  watchPageReturn({
    current: () => ({
      stream: session.localStream,
      pc: session.publisher ? session.publisher.pc : null,
    }),
    onRecovered: () => {
      if (session.localStream) showLocalCamera(session.localStream);
    },
  });
}

// ---- connection ----

async function joinHearing(signaling) {
  closeMedia(); // whatever a previous connection left
  ui.setState("connecting", session.joinedOnce ? "reconnecting" : "connecting");
  const rtcConfig = deferred();
  session.subscriber = new Subscriber({
    signaling,
    rtcConfig: rtcConfig.promise,
    onTrack: (participantId, track) =>
      tiles.addRemoteTrack(participantId, track, participants.get(participantId)),
    onTrackGone: (participantId, track) => tiles.removeRemoteTrack(participantId, track),
    onError: (err) => {
      console.error("tyndau: subscribe offer failed", err);
      ui.noticeForError(errorCode(err, "subscribe_failed"));
    },
    onFailed: rebuildConnections,
  });

  let joined;
  try {
    joined = await signaling.request("join", {});
  } catch (err) {
    rtcConfig.reject(err);
    if (!isCurrent(signaling)) return; // the disconnect handler takes over
    fail(errorCode(err));
    return;
  }
  if (!isCurrent(signaling)) return;
  const config = rtcConfiguration(joined);
  session.rtcConfig = config; // the self-test's network check from the hearing uses it too
  session.hearing = joined.hearing && typeof joined.hearing === "object" ? joined.hearing : null;
  session.permissions = new Set(Array.isArray(joined.permissions) ? joined.permissions : []);
  ui.showHearing(session.hearing);
  showHearingState(session.hearing);
  showWaitingFor(session.hearing);
  if (isParticipant(joined.self)) showSelf(joined.self);
  for (const p of Array.isArray(joined.participants) ? joined.participants : []) {
    upsertParticipant(p);
  }
  setupHand(session.permissions, request);
  // Help, sound only, the court's channel and the speaking caption (docs/signaling.md).
  const selfId = isParticipant(joined.self) ? joined.self.id : null;
  setupHelp(session.permissions, request, joined.help);
  setupReceiveMode(session.permissions, request);
  startCourtChat({ permissions: session.permissions, selfId, history: joined.court_messages, request });
  startHelpList({ permissions: session.permissions, open: joined.help_requests, request });
  showSpeaker({ speaker: joined.speaker }, selfId);
  startConsole({
    permissions: session.permissions,
    hearing: session.hearing,
    participants,
    joinAck: joined,
    request,
  });
  rtcConfig.resolve(config);
  session.joinedOnce = true;
  ui.hideNotice();
  ui.setState("joined");
  mediaWatch.start();
  void reportSelfTest(signaling, session.claims); // the court sees the result of the check
  await startPublishing(signaling, config);
}

function onConnectError(signaling, err) {
  if (signaling !== session.signaling) return;
  const code = err && err.data && typeof err.data.code === "string" ? err.data.code : null;
  if (code) {
    // Refused by the server: Socket.IO does not retry, and retrying would not help.
    fail(code);
    return;
  }
  if (!signaling.active) {
    fail("connection_failed");
    return;
  }
  // Network trouble: Socket.IO keeps retrying.
  ui.setState("connecting", session.joinedOnce ? "reconnecting" : "connecting");
  ui.noticeForError(session.joinedOnce ? "connection_lost" : "connection_failed");
}

function onDisconnect(signaling, reason) {
  if (signaling !== session.signaling) return;
  closeMedia();
  if (session.leaving) return;
  ui.setState("connecting", "reconnecting");
  ui.noticeForError("connection_lost");
  if (reason !== "io server disconnect") return; // Socket.IO reconnects by itself
  // The server closed the connection (a restart, a shutdown): connect again.
  // A revoked or expired token is then refused with its own code.
  const now = Date.now();
  session.serverCloses = session.serverCloses.filter((t) => now - t < SERVER_CLOSE_WINDOW_MS);
  session.serverCloses.push(now);
  if (session.serverCloses.length > SERVER_CLOSE_LIMIT) {
    fail("connection_closed");
    return;
  }
  window.setTimeout(() => {
    if (signaling === session.signaling && !signaling.connected) signaling.connect();
  }, SERVER_CLOSE_RETRY_MS);
}

function startSession() {
  session.leaving = false;
  session.joinedOnce = false;
  session.serverCloses = [];
  ui.hideNotice();
  ui.setState("connecting");
  const signaling = new Signaling(session.token);
  session.signaling = signaling;
  signaling.on("connect", () => {
    joinHearing(signaling).catch((err) => {
      console.error("tyndau: join flow failed", err);
      if (isCurrent(signaling)) fail(errorCode(err));
    });
  });
  signaling.on("connect_error", (err) => onConnectError(signaling, err));
  signaling.on("disconnect", (reason) => onDisconnect(signaling, reason));
  signaling.on("participant_joined", upsertParticipant);
  signaling.on("participant_updated", upsertParticipant);
  signaling.on("participant_left", (payload) => {
    if (payload && typeof payload.id === "string") removeParticipant(payload.id);
  });
  signaling.on("self_updated", (p) => {
    if (isParticipant(p)) showSelf(p);
  });
  signaling.on("notice", onNotice);
  signaling.on("hearing_state", onHearingState);
  signaling.on("protocol_event", consoleProtocolEvent);
  signaling.on("quality", consoleQuality);
  signaling.on("recording_alert", consoleRecordingAlert);
  signaling.on("court_message", courtMessage);
  signaling.on("help_update", (help) => {
    helpUpdate(help); // the asker's own request
    helpListUpdate(help); // the court's list
  });
  signaling.on("speaker", (payload) => showSpeaker(payload, session.self ? session.self.id : null));
  signaling.on("subscribe_offer", (offer) => {
    if (session.subscriber && signaling === session.signaling) session.subscriber.enqueue(offer);
  });
  signaling.on("error", (error) => {
    // The same participant joined from another tab or device: this one stops,
    // and must not reconnect (it would take the seat back).
    if (error && error.code === "replaced") {
      fail("replaced");
      return;
    }
    console.warn("tyndau: server refused an event", error);
  });
}

// Stop: no more events, no reconnection, camera off.
function stop() {
  const signaling = session.signaling;
  session.signaling = null;
  closeMedia();
  releaseCamera();
  if (signaling) signaling.close();
  ui.setMediaControls({ audio: false, video: false });
  hideHand();
  hideHelp();
  hideReceiveMode();
  hideSpeaker();
}

// A kiosk's session is over (ended, removed, closed, refused): back to the kiosk.
function endKioskSession(code) {
  const done = session.onEnded;
  session.onEnded = null;
  stop();
  stopConsole();
  done(code);
}

// Stop for good (until the user retries) and show why.
function fail(code) {
  if (session.onEnded) {
    endKioskSession(code);
    return;
  }
  if (code === "hearing_closed") {
    finishClosed(); // a link opened after the end: the same final screen
    return;
  }
  stop();
  stopConsole();
  ui.showError(code);
}

// The hearing is closed: final. The court keeps its protocol on the screen.
function finishClosed() {
  if (session.onEnded) {
    endKioskSession("hearing_closed");
    return;
  }
  if (document.body.dataset.state === "closed") return;
  stop();
  ui.showClosed();
}

async function leave() {
  const signaling = session.signaling;
  if (!signaling) return;
  session.leaving = true;
  if (signaling.connected) {
    try {
      await signaling.request("leave", {});
    } catch (err) {
      console.warn("tyndau: leave not acknowledged", err);
    }
  }
  stop();
  stopConsole();
  ui.showLeft();
}

// ---- start ----

async function main() {
  await initI18n();
  ui.bindControls({
    onToggle: (kind) => void toggleTrack(kind),
    onLeave: () => void leave(),
    onRetry: () => (session.claims ? startSession() : window.location.reload()),
    onRejoin: () => startSession(),
    onLanguage: (lang) => void switchLanguage(lang).then(ui.syncLanguageSelect),
    onUnlockSound: () => tiles.unlockSound(),
  });
  bindConsultation(request);
  bindPhoneControls();
  ui.setState("connecting");
  if (isKioskPage()) {
    await runKiosk(joinAsKiosk);
    return;
  }

  const invite = readInvite();
  if (invite) {
    // An invitation link: trade the code for a hearing token, then join as usual.
    const signedIn = loadSession();
    try {
      const reply = await redeemInvitation(
        invite,
        signedIn && !isExpired(signedIn) ? signedIn.token : null,
      );
      window.history.replaceState(null, "", `/join#token=${reply.token}`);
    } catch (err) {
      ui.showError(errorCode(err));
      return;
    }
  }

  session.token = readToken();
  if (!session.token) {
    ui.showError("auth_required");
    return;
  }
  try {
    session.claims = decodeClaims(session.token);
  } catch (err) {
    ui.showError(errorCode(err));
    return;
  }
  ui.showIdentity(session.claims);
  const wanted = publishGrants(session.claims);
  ui.prepareMediaControls(wanted);
  for (const kind of ["audio", "video"]) ui.setToggle(kind, false);
  if (typeof RTCPeerConnection !== "function") {
    ui.showError("webrtc_unsupported");
    return;
  }
  const tested = await selfTestBeforeJoin(session.claims, session.token, wanted);
  if (tested) session.localStream = tested; // the camera and microphone just checked
  await acknowledgeRules(session.claims);
  startSession();
}

// Kiosk mode: join with a token the unit fetched; resolves with the code
// that ended the session (token_revoked when the officer ended it).
function joinAsKiosk(token) {
  return new Promise((resolve) => {
    session.token = token;
    session.claims = decodeClaims(token);
    session.onEnded = resolve;
    ui.showIdentity(session.claims);
    startSession();
  });
}

main().catch((err) => {
  console.error("tyndau: start-up failed", err);
  ui.showError(errorCode(err));
});
