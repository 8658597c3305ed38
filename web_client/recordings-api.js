// The server's recordings API (docs/recording.md, "Serving and the audit log").
//
//   GET  /api/cases/{case_id}/recordings          (Bearer) -> {case, access, recordings}
//   GET  /api/recordings/{hearing_id}             (Bearer) -> {case, access, recording, protocol}
//   POST /api/recordings/{hearing_id}/playback {file} (Bearer) -> {url, expires_at}
//
// A <video> element cannot send the session's Authorization header, so it
// plays a playback link: a same-origin URL with a ten-minute token for that
// one file. Every call here is written to the server's audit log.
//
// A refusal `{"error": {code, message}}` becomes a TyndauError with that code
// and `.status`; no answer is `connection_failed`, a wrong shape `bad_response`.

import { TyndauError } from "./errors.js";
import { callJson } from "./json-api.js";

// `token`: the session token (Bearer).
function call(method, path, token, body) {
  return callJson(method, path, { token, body });
}

const segment = (value) => encodeURIComponent(String(value));

export async function caseRecordings(token, caseId) {
  const data = await call("GET", `/api/cases/${segment(caseId)}/recordings`, token);
  if (!data.case || !Array.isArray(data.recordings)) {
    throw new TyndauError("bad_response", "a listing without its case or recordings");
  }
  return data;
}

export async function recordingDetails(token, hearingId) {
  const data = await call("GET", `/api/recordings/${segment(hearingId)}`, token);
  if (!data.recording || !Array.isArray(data.recording.files)) {
    throw new TyndauError("bad_response", "a recording without its files");
  }
  return data;
}

// A same-origin link that plays `file` for about ten minutes.
export async function playbackLink(token, hearingId, file) {
  const data = await call("POST", `/api/recordings/${segment(hearingId)}/playback`, token, { file });
  if (typeof data.url !== "string" || !data.url.startsWith("/api/recordings/")) {
    throw new TyndauError("bad_response", "a playback link that is not ours");
  }
  return { url: data.url, expiresAt: data.expires_at };
}
