// The signed-in session: kept in sessionStorage (this tab only, gone when it
// closes; never localStorage) and refreshed about a minute before it expires.
//
// Stored under "tyndau.session" as JSON:
//   {token, expiresAt (ISO 8601), userId, person: {iin, bin, name, surname,
//    given_name, patronymic, organization, holder_kind}, roles: [...]}

import { normalisePerson, normaliseRoles, refreshSession } from "./auth-api.js";
import { errorCode } from "./errors.js";

const STORAGE_KEY = "tyndau.session";
export const REFRESH_BEFORE_EXPIRY_MS = 60 * 1000;
const RETRY_MS = 15 * 1000;
// A refresh refused with one of these means the session is over.
const ENDED_STATUSES = new Set([401, 403]);

function storage() {
  try {
    return window.sessionStorage;
  } catch {
    return null; // storage disabled by policy: the session lasts as long as the page
  }
}

export function loadSession() {
  const store = storage();
  let data;
  try {
    data = JSON.parse(store ? store.getItem(STORAGE_KEY) || "null" : "null");
  } catch {
    data = null;
  }
  if (!data || typeof data !== "object" || typeof data.token !== "string" || !data.token) {
    return null;
  }
  if (Number.isNaN(Date.parse(data.expiresAt))) return null;
  return {
    token: data.token,
    expiresAt: data.expiresAt,
    userId: typeof data.userId === "string" ? data.userId : "",
    person: normalisePerson(data.person || {}),
    roles: normaliseRoles(data.roles),
  };
}

export function saveSession(session) {
  const store = storage();
  if (!store) return;
  try {
    store.setItem(STORAGE_KEY, JSON.stringify(session));
  } catch {
    // quota or policy: the session still works in this page
  }
}

export function clearSession() {
  const store = storage();
  if (store) store.removeItem(STORAGE_KEY);
}

export const isExpired = (session, now = Date.now()) => Date.parse(session.expiresAt) <= now;

// Keeps one session fresh. `onRefreshed(session)` after each new token;
// `onEnded(code)` once the server refuses it or it expired unrefreshed (the
// stored copy is cleared first).
export class SessionKeeper {
  constructor({ onRefreshed, onEnded }) {
    this.onRefreshed = onRefreshed;
    this.onEnded = onEnded;
    this.session = null;
    this.timer = null;
    this.refreshing = false;
    // Timers of a hidden tab or a sleeping laptop run late: check on return.
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.schedule();
    });
  }

  start(session) {
    this.session = session;
    saveSession(session);
    this.schedule();
  }

  stop() {
    this.session = null;
    clearTimeout(this.timer);
    this.timer = null;
  }

  schedule(delayMs = null) {
    clearTimeout(this.timer);
    this.timer = null;
    if (!this.session || this.refreshing) return;
    const now = Date.now();
    if (isExpired(this.session, now)) {
      this.end("session_expired");
      return;
    }
    const due = Date.parse(this.session.expiresAt) - REFRESH_BEFORE_EXPIRY_MS - now;
    const delay = delayMs === null ? Math.max(0, due) : delayMs;
    this.timer = setTimeout(() => void this.refresh(), delay);
  }

  async refresh() {
    const session = this.session;
    if (!session || this.refreshing) return;
    this.refreshing = true;
    let fresh = null;
    let failure = null;
    try {
      fresh = await refreshSession(session.token);
    } catch (err) {
      failure = err;
    } finally {
      this.refreshing = false;
    }
    if (this.session !== session) return; // logged out meanwhile
    if (fresh) {
      this.session = { ...session, token: fresh.token, expiresAt: fresh.expiresAt };
      saveSession(this.session);
      this.onRefreshed(this.session);
      this.schedule();
    } else if (failure && ENDED_STATUSES.has(failure.status)) {
      this.end(errorCode(failure) === "session_too_old" ? "session_too_old" : "session_expired");
    } else {
      // The server or the network failed: retry while the token still lives.
      console.warn("tyndau: session refresh failed; retrying", errorCode(failure));
      this.schedule(RETRY_MS);
    }
  }

  end(code) {
    this.stop();
    clearSession();
    this.onEnded(code);
  }
}
