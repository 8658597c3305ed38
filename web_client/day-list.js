// The day's hearings on /login, for a judge (the hearings they preside over)
// or a secretary (their court's): time (the browser's local time), case
// number, title, kind and state, and "Enter", which takes a hearing token
// (POST /api/hearings/{id}/join) and opens /join#token=… on this origin. A
// closed hearing with a sealed recording has, instead, a link to the player
// (/player#case=<case id>&hearing=<hearing id>), opened in this tab: the
// player takes the session this tab keeps.
//
// The first load asks for the server's today (the courts' time zone) and the
// date picker follows it; another date is asked for as YYYY-MM-DD.
//
// `#day-panel` carries data-status: loading | ready | empty | error | joining.

import { joinHearing, listHearings } from "./auth-api.js";
import { errorCode } from "./errors.js";
import { errorKey, has, setPlainText, setText } from "./i18n.js";

const COURT_ROLES = new Set(["judge", "secretary"]);

const $ = (id) => document.getElementById(id);

export const hasCourtRole = (session) =>
  Boolean(session) && session.roles.some((role) => COURT_ROLES.has(role));

const pad = (n) => String(n).padStart(2, "0");

// HH:MM in the browser's time zone.
export function localTime(date) {
  return `${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

// "2025-03-07" -> "07.03.2025", the way dates are written in Kazakhstan.
function displayDate(iso) {
  const [y, m, d] = iso.split("-");
  return `${d}.${m}.${y}`;
}

function setKeyOrPlain(el, key, fallback) {
  if (has(key)) setText(el, key);
  else setPlainText(el, fallback);
}

// The player's address for a hearing's recording; the ids travel in the
// fragment, as player.js reads them.
export function playerPath(hearing) {
  return `/player#${new URLSearchParams({ case: hearing.caseId, hearing: hearing.id })}`;
}

const SVG = "http://www.w3.org/2000/svg";

function recordingLink(hearing, describedBy) {
  const link = document.createElement("a");
  link.className = "btn btn-small day-recording";
  link.href = playerPath(hearing);
  link.setAttribute("aria-describedby", describedBy);
  const icon = document.createElementNS(SVG, "svg");
  icon.setAttribute("viewBox", "0 0 24 24");
  icon.setAttribute("aria-hidden", "true");
  icon.setAttribute("focusable", "false");
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("d", "M8 5v14l11-7z");
  icon.append(path);
  const label = document.createElement("span");
  setText(label, "day.recording");
  link.append(icon, label);
  return link;
}

export class DayList {
  // `getToken()`: the session token now (it is refreshed in the background).
  // `onSessionEnded(code)`: the server no longer accepts it.
  constructor({ getToken, onSessionEnded }) {
    this.getToken = getToken;
    this.onSessionEnded = onSessionEnded;
    this.userId = null; // whose list is shown
    this.today = null; // the server's today, YYYY-MM-DD
    this.date = null; // the date shown
    this.request = 0; // answers to older requests are dropped
    this.joining = false;
    $("day-date").addEventListener("change", () => this.pick($("day-date").value));
    $("btn-day-refresh").addEventListener("click", () => void this.load(this.date));
  }

  // Show the list for a session with a court role (loaded once per person);
  // hide it for anyone else.
  show(session) {
    if (!hasCourtRole(session)) {
      this.hide();
      return;
    }
    if (this.userId === session.userId && !$("day-panel").hidden) return;
    this.userId = session.userId;
    $("day-panel").hidden = false;
    void this.load(null);
  }

  hide() {
    this.request += 1;
    this.userId = null;
    this.today = null;
    this.date = null;
    this.joining = false;
    $("day-panel").hidden = true;
    $("day-list").replaceChildren();
    $("day-date").value = "";
    this.hideError();
    this.setStatus("ready", null);
  }

  pick(value) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) {
      $("day-date").value = this.date || ""; // cleared: keep the day shown
      return;
    }
    if (value !== this.date) void this.load(value);
  }

  async load(date) {
    const request = ++this.request;
    this.hideError();
    this.setStatus("loading", "day.loading");
    let answer;
    try {
      answer = await listHearings(this.getToken(), date);
    } catch (err) {
      if (request !== this.request) return;
      console.warn("tyndau: hearings list failed", errorCode(err));
      if (this.sessionEnded(err)) return;
      $("day-list").replaceChildren();
      this.setStatus("error", null);
      this.showError("day.list_error_title", errorCode(err));
      return;
    }
    if (request !== this.request) return;
    if (date === null) this.today = answer.date;
    this.date = answer.date;
    $("day-date").value = answer.date;
    this.render(answer.hearings);
  }

  render(hearings) {
    const title = $("day-title");
    if (this.date === this.today) setText(title, "day.title_today");
    else setText(title, "day.title_date", { date: displayDate(this.date) });
    $("day-list").replaceChildren(...hearings.map((h, i) => this.item(h, i)));
    if (hearings.length === 0) this.setStatus("empty", "day.empty");
    else this.setStatus("ready", null);
  }

  item(hearing, index) {
    const li = document.createElement("li");
    li.className = "day-item";
    li.dataset.hearingId = hearing.id;
    li.dataset.state = hearing.state;

    const time = document.createElement("time");
    time.className = "day-time";
    time.id = `day-time-${index}`;
    if (hearing.scheduledAt) {
      time.dateTime = hearing.scheduledAt.toISOString();
      setPlainText(time, localTime(hearing.scheduledAt));
    } else {
      setPlainText(time, "—");
    }

    const info = document.createElement("div");
    info.className = "day-info";
    const number = document.createElement("p");
    number.className = "day-case";
    number.id = `day-case-${index}`;
    setPlainText(number, hearing.caseNumber);
    const title = document.createElement("p");
    title.className = "day-hearing-title";
    setPlainText(title, hearing.title);
    const meta = document.createElement("p");
    meta.className = "day-meta";
    const kind = document.createElement("span");
    kind.className = "day-kind";
    setKeyOrPlain(kind, `day.kind_${hearing.kind}`, hearing.kind);
    const state = document.createElement("span");
    state.className = "day-state";
    state.dataset.state = hearing.state;
    setKeyOrPlain(state, `day.state_${hearing.state}`, hearing.state);
    meta.append(kind, state);
    info.append(number, title, meta);

    if (hearing.state === "closed" && hearing.recording && hearing.caseId) {
      li.append(time, info, recordingLink(hearing, `${number.id} ${time.id}`));
      return li;
    }
    const enter = document.createElement("button");
    enter.type = "button";
    enter.className = "btn btn-small day-enter";
    enter.setAttribute("aria-describedby", `${number.id} ${time.id}`);
    enter.disabled = hearing.state === "closed" || this.joining;
    const label = document.createElement("span");
    setText(label, "day.enter");
    enter.append(label);
    enter.addEventListener("click", () => void this.enter(hearing));

    li.append(time, info, enter);
    return li;
  }

  async enter(hearing) {
    if (this.joining) return;
    this.joining = true;
    const request = this.request;
    this.hideError();
    this.setButtons(false);
    this.setStatus("joining", "day.joining");
    try {
      const joined = await joinHearing(this.getToken(), hearing.id);
      window.location.assign(joined.path);
    } catch (err) {
      this.joining = false;
      if (request !== this.request) return;
      console.warn("tyndau: join failed", errorCode(err));
      if (this.sessionEnded(err)) return;
      this.setButtons(true);
      this.setStatus("ready", null);
      this.showError("day.join_error_title", errorCode(err));
      // The hearing may have changed (closed, say): show it as it is now,
      // keeping the message.
      if (errorCode(err) === "hearing_closed") void this.refreshQuietly();
    }
  }

  async refreshQuietly() {
    const request = ++this.request;
    try {
      const answer = await listHearings(this.getToken(), this.date);
      if (request === this.request && !this.joining) this.render(answer.hearings);
    } catch {
      // the error already shown stands
    }
  }

  sessionEnded(err) {
    if (err && err.status === 401) {
      this.onSessionEnded(
        errorCode(err) === "session_too_old" ? "session_too_old" : "session_expired",
      );
      return true;
    }
    return false;
  }

  setButtons(enabled) {
    for (const li of $("day-list").children) {
      const enter = li.querySelector(".day-enter");
      if (enter) enter.disabled = !enabled || li.dataset.state === "closed";
    }
  }

  setStatus(status, key) {
    $("day-panel").dataset.status = status;
    $("day-panel").setAttribute("aria-busy", String(status === "loading" || status === "joining"));
    const el = $("day-status");
    if (key) setText(el, key);
    else setPlainText(el, "");
    el.hidden = !key;
  }

  showError(titleKey, code) {
    $("day-panel").dataset.status = "error";
    $("day-panel").dataset.error = code;
    setText($("day-error-title"), titleKey);
    setText($("day-error-text"), errorKey(code));
    $("day-error").hidden = false;
  }

  hideError() {
    delete $("day-panel").dataset.error;
    $("day-error").hidden = true;
  }
}
