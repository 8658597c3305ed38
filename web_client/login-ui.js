// The login page's DOM: the sign-in card, its progress and error, and the
// signed-in card (who is signed in, their court roles).
//
// `document.body.dataset.state` is signed-out | working | signed-in; while an
// error is shown `dataset.error` holds its code.

import { errorKey, roleKey, setPlainText, setText } from "./i18n.js";

const $ = (id) => document.getElementById(id);

// Client codes whose message is followed by the detail (NCALayer's own text).
const DETAILED = new Set(["ncalayer_error"]);

export function setState(state) {
  document.body.dataset.state = state;
  const signedIn = state === "signed-in";
  $("signin-panel").hidden = signedIn;
  $("account-panel").hidden = !signedIn;
  $("btn-sign-in").disabled = state === "working";
  $("btn-sign-in").setAttribute("aria-busy", String(state === "working"));
}

// A progress line (i18n key), or nothing.
export function setStatus(key) {
  const el = $("login-status");
  if (key) setText(el, key);
  else {
    delete el.dataset.i18n;
    el.textContent = "";
  }
}

// `code`: an error code (translated as error.<code>). `detail`: text shown
// as is under the message (NCALayer's message; the code of an unknown error).
export function showError(code, detail = "") {
  document.body.dataset.error = code;
  const key = errorKey(code);
  setText($("login-error-text"), key);
  const detailText = DETAILED.has(code) || key === "error.unknown" ? detail : "";
  const detailEl = $("login-error-detail");
  setPlainText(detailEl, detailText);
  detailEl.hidden = !detailText;
  $("login-download").hidden = code !== "ncalayer_not_running";
  $("login-error").hidden = false;
}

export function hideError() {
  delete document.body.dataset.error;
  $("login-error").hidden = true;
}

// "••••••••1234": only the last four digits of an IIN are shown.
export function maskIin(iin) {
  const digits = String(iin || "").replace(/\D/g, "");
  if (!digits) return "";
  const shown = digits.slice(-4);
  return "•".repeat(Math.max(0, digits.length - shown.length)) + shown;
}

export function displayName(person, fallback = "") {
  if (person.name) return person.name;
  const parts = [person.surname, person.given_name, person.patronymic].filter(Boolean);
  return parts.length ? parts.join(" ") : fallback;
}

export function showAccount(session) {
  const person = session.person || {};
  setPlainText($("account-name"), displayName(person, session.userId));
  setPlainText($("account-iin"), maskIin(person.iin));
  $("account-iin-row").hidden = !person.iin;
  const organization = [person.organization, person.bin ? `(${person.bin})` : ""]
    .filter(Boolean)
    .join(" ");
  setPlainText($("account-org"), organization);
  $("account-org-row").hidden = !person.organization;

  const list = $("account-roles");
  list.replaceChildren();
  for (const role of session.roles) {
    const li = document.createElement("li");
    li.dataset.role = role;
    const key = roleKey(role);
    if (key) setText(li, key);
    else setPlainText(li, role);
    list.append(li);
  }
  if (session.roles.length === 0) {
    const li = document.createElement("li");
    li.className = "no-role";
    setText(li, "login.no_role");
    list.append(li);
  }
}

export function focusSignIn() {
  $("btn-sign-in").focus();
}

export function focusAccount() {
  $("account-title").focus();
}

export function bindControls({ onSignIn, onSignOut, onLanguage }) {
  $("btn-sign-in").addEventListener("click", () => onSignIn());
  $("btn-sign-out").addEventListener("click", () => onSignOut());
  const select = $("lang-select");
  select.addEventListener("change", () => onLanguage(select.value));
}

export function syncLanguageSelect(lang) {
  $("lang-select").value = lang;
}
