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

function fallbackCode(status) {
  if (status === 401) return "unauthorized";
  if (status === 403) return "forbidden";
  if (status === 404) return "not_found";
  if (status >= 500) return "internal_error";
  return "unknown";
}

async function call(method, path, token, body) {
  const headers = { Accept: "application/json", Authorization: `Bearer ${token}` };
  const init = { method, headers, cache: "no-store", credentials: "same-origin" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (cause) {
    throw new TyndauError("connection_failed", `${method} ${path}: no answer`, { cause });
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = data && typeof data === "object" ? data.error : null;
    const code =
      error && typeof error.code === "string" && /^[a-z0-9_]+$/.test(error.code)
        ? error.code
        : fallbackCode(response.status);
    const err = new TyndauError(code, error && error.message ? String(error.message) : `HTTP ${response.status}`);
    err.status = response.status;
    throw err;
  }
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new TyndauError("bad_response", `${method} ${path}: not a JSON object`);
  }
  return data;
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
