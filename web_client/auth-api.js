// The server's login API (EDS sign-in and session tokens).
//
//   POST /api/auth/challenge            -> {nonce, expires_at}
//   POST /api/auth/eds {cms}            -> {token, expires_at, user_id, person, roles}
//   POST /api/auth/refresh  (Bearer)    -> {token, expires_at}
//   POST /api/auth/logout   (Bearer)    -> {ok: true}
//   GET  /api/me            (Bearer)    -> {user_id, iin, name, roles}
//   GET  /api/hearings?date=YYYY-MM-DD (Bearer) -> {date, hearings: [Hearing]}
//   POST /api/hearings/{id}/join       (Bearer) -> {token, link, hearing, participant}
//
// A refusal `{"error": {code, message}}` becomes a TyndauError with that code
// and `.status`; no answer at all is `connection_failed`, an answer of the
// wrong shape `bad_response`.

import { TyndauError } from "./errors.js";
import { callJson } from "./json-api.js";

const isText = (value) => typeof value === "string" && value.trim() !== "";

function need(condition, what) {
  if (!condition) throw new TyndauError("bad_response", what);
}

export async function requestChallenge() {
  const data = await callJson("POST", "/api/auth/challenge");
  need(isText(data.nonce), "challenge without a nonce");
  return { nonce: data.nonce.trim(), expiresAt: data.expires_at };
}

// `person` and `roles` are normalised: strings (possibly empty), an array.
export async function loginWithCms(cms) {
  const data = await callJson("POST", "/api/auth/eds", { body: { cms } });
  need(isText(data.token), "login without a token");
  need(!Number.isNaN(Date.parse(data.expires_at)), "login without a valid expires_at");
  const person = data.person && typeof data.person === "object" ? data.person : {};
  return {
    token: data.token,
    expiresAt: data.expires_at,
    userId: isText(data.user_id) ? data.user_id : "",
    person: normalisePerson(person),
    roles: normaliseRoles(data.roles),
  };
}

export async function refreshSession(token) {
  const data = await callJson("POST", "/api/auth/refresh", { token });
  need(isText(data.token), "refresh without a token");
  need(!Number.isNaN(Date.parse(data.expires_at)), "refresh without a valid expires_at");
  return { token: data.token, expiresAt: data.expires_at };
}

// An invitation link's code for a hearing token; `sessionToken` when the
// invitation is bound to a person (EDS sign-in first).
export async function redeemInvitation(code, sessionToken = null) {
  const data = await callJson("POST", "/api/invitations/redeem", {
    token: sessionToken,
    body: { code },
  });
  if (typeof data.token !== "string" || !data.token) {
    throw new TyndauError("bad_response", "redeem: no token");
  }
  return data;
}

export async function logout(token) {
  await callJson("POST", "/api/auth/logout", { token });
}

export async function fetchMe(token) {
  const data = await callJson("GET", "/api/me", { token });
  return {
    userId: isText(data.user_id) ? data.user_id : "",
    iin: isText(data.iin) ? data.iin : "",
    name: isText(data.name) ? data.name : "",
    roles: normaliseRoles(data.roles),
  };
}

// A day's hearings of a judge (their own) or a secretary (their court's), in
// the server's order (by time). `date` is YYYY-MM-DD in the courts' time zone;
// without it the server's today, whose date comes back in `date`.
export async function listHearings(token, date = null) {
  const query = date ? `?date=${encodeURIComponent(date)}` : "";
  const data = await callJson("GET", `/api/hearings${query}`, { token });
  need(/^\d{4}-\d{2}-\d{2}$/.test(data.date || ""), "hearings without a date");
  need(Array.isArray(data.hearings), "hearings without a list");
  return { date: data.date, hearings: data.hearings.map(normaliseHearing).filter(Boolean) };
}

// A hearing token for the signed-in judge or secretary (or a seat bound to
// their IIN). Only the path and fragment of `link` are kept: the page opens
// them on its own origin, and the token stays in the fragment.
export async function joinHearing(token, hearingId) {
  const data = await callJson("POST", `/api/hearings/${encodeURIComponent(hearingId)}/join`, {
    token,
  });
  need(isText(data.token) && isText(data.link), "join without a link");
  let url;
  try {
    url = new URL(data.link, window.location.href);
  } catch {
    url = null;
  }
  need(url && url.pathname === "/join" && url.hash.startsWith("#token="), "join: bad link");
  return { path: url.pathname + url.hash, hearing: data.hearing, participant: data.participant };
}

export function normaliseHearing(hearing) {
  if (!hearing || typeof hearing !== "object" || !isText(hearing.id)) return null;
  const text = (value) => (typeof value === "string" ? value.trim() : "");
  const at = Date.parse(hearing.scheduled_at);
  return {
    id: hearing.id,
    caseNumber: text(hearing.case_number),
    title: text(hearing.title),
    kind: text(hearing.kind),
    state: text(hearing.state),
    court: text(hearing.court),
    isOpen: hearing.is_open === true,
    scheduledAt: Number.isNaN(at) ? null : new Date(at),
    language: text(hearing.language),
    caseId: text(hearing.case_id),
    recording: hearing.recording === true, // a sealed recording is in the catalogue
  };
}

const PERSON_FIELDS = [
  "iin",
  "bin",
  "name",
  "surname",
  "given_name",
  "patronymic",
  "organization",
  "holder_kind",
];

export function normalisePerson(person) {
  const out = {};
  for (const field of PERSON_FIELDS) {
    out[field] = person && typeof person[field] === "string" ? person[field].trim() : "";
  }
  return out;
}

export function normaliseRoles(roles) {
  return Array.isArray(roles) ? roles.filter((r) => typeof r === "string" && r !== "") : [];
}
