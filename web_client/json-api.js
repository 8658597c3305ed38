// JSON over HTTP to the server's REST API, one way for every caller.
//
// A refusal `{"error": {code, message}}` becomes a TyndauError with that code
// and `.status` (and `.serverMessage`); no answer at all is `connection_failed`,
// an answer of the wrong shape `bad_response`.

import { TyndauError } from "./errors.js";

function fallbackCode(status) {
  if (status === 401) return "unauthorized";
  if (status === 403) return "forbidden";
  if (status === 404) return "not_found";
  if (status === 413) return "payload_too_large";
  if (status === 429) return "rate_limited";
  if (status >= 500) return "internal_error";
  return "unknown";
}

function refusal(status, data) {
  const error = data && typeof data === "object" ? data.error : null;
  const code =
    error && typeof error.code === "string" && /^[a-z0-9_]+$/.test(error.code)
      ? error.code
      : fallbackCode(status);
  const message = error && typeof error.message === "string" ? error.message : `HTTP ${status}`;
  const err = new TyndauError(code, message);
  err.status = status;
  err.serverMessage = error && typeof error.message === "string" ? error.message : "";
  return err;
}

export async function callJson(method, path, { token = null, body } = {}) {
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
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
  if (!response.ok) throw refusal(response.status, data);
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new TyndauError("bad_response", `${method} ${path}: not a JSON object`);
  }
  return data;
}
