// Kiosk mode (`/kiosk`): a detention facility's video unit (docs/auth.md, 3).
//
// The facility's IT enters the unit's credential (`<endpoint id>.<secret>`
// from `tyndau facility add-unit`) once; it is kept in this browser's
// localStorage. The page then asks `POST /api/facility/endpoint/session`
// every few seconds until an officer starts a session for a hearing, joins
// it as the detainee through the join page's own flow (app.js, given here as
// `join(token)`), and when that session ends (the officer ended it: its token
// is revoked) goes back to waiting for the next one. `/kiosk#reset` forgets
// the credential.

import { TyndauError } from "./errors.js";
import { currentLanguage, setText, switchLanguage } from "./i18n.js";
import { startKioskStatus } from "./kiosk-status.js";
import * as ui from "./ui.js";

const STORAGE_KEY = "tyndau.kiosk.credential";
const POLL_MS = 3000;
const CREDENTIAL = /^[0-9a-f]{32}\.[A-Za-z0-9_-]{20,}$/;
// The unit's credential is not known (mistyped, or the unit was removed).
const CREDENTIAL_REFUSED = new Set(["endpoint_unknown", "auth_required"]);
// Codes that end a session for good: its token will not work again.
const SESSION_OVER = new Set(["token_revoked", "removed", "replaced", "hearing_closed"]);
const KIOSK_LANGUAGES = new Set(["kk", "ru"]);

const $ = (id) => document.getElementById(id);
const sleep = (ms) => new Promise((resolve) => window.setTimeout(resolve, ms));

export const isKioskPage = () => window.location.pathname === "/kiosk";

function loadCredential() {
  try {
    return window.localStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

function saveCredential(credential) {
  try {
    if (credential) window.localStorage.setItem(STORAGE_KEY, credential);
    else window.localStorage.removeItem(STORAGE_KEY);
  } catch {
    // storage disabled: the credential lasts as long as the page
  }
}

async function fetchSession(credential) {
  let response;
  try {
    response = await fetch("/api/facility/endpoint/session", {
      method: "POST",
      headers: { Accept: "application/json", Authorization: `Endpoint ${credential}` },
      cache: "no-store",
    });
  } catch (cause) {
    throw new TyndauError("connection_failed", "no answer", { cause });
  }
  const data = await response.json().catch(() => null);
  if (!response.ok || !data || typeof data.token !== "string") {
    const error = data && data.error && typeof data.error === "object" ? data.error : {};
    throw new TyndauError(typeof error.code === "string" ? error.code : "bad_response", "refused");
  }
  return data;
}

// The set-up form; resolves with the credential IT entered.
function askForCredential(refused) {
  ui.setState("kiosk-setup");
  const form = $("kiosk-setup-form");
  const input = $("kiosk-credential");
  const error = $("kiosk-setup-error");
  error.hidden = !refused;
  if (refused) setText(error, "kiosk.credential_refused");
  input.value = "";
  input.focus();
  return new Promise((resolve) => {
    const submit = (event) => {
      event.preventDefault();
      const credential = input.value.trim();
      if (!CREDENTIAL.test(credential)) {
        setText(error, "kiosk.credential_malformed");
        error.hidden = false;
        return;
      }
      form.removeEventListener("submit", submit);
      // A user gesture: the one moment a page may go full screen by itself.
      if (document.documentElement.requestFullscreen) {
        document.documentElement.requestFullscreen().catch(() => {});
      }
      resolve(credential);
    };
    form.addEventListener("submit", submit);
  });
}

// The court's rules stay on the screen as text (the list the join page shows
// before joining; a detainee is not asked to press anything).
function showRules() {
  const aside = $("kiosk-rules");
  aside.append(document.querySelector(".rules-panel .rules-list").cloneNode(true));
  aside.hidden = false;
}

// Only Kazakh and Russian are offered on a unit.
async function kioskLanguages() {
  for (const option of [...$("lang-select").options]) {
    if (!KIOSK_LANGUAGES.has(option.value)) option.remove();
  }
  if (!KIOSK_LANGUAGES.has(currentLanguage())) await switchLanguage("kk");
  ui.syncLanguageSelect();
}

// Runs for the life of the page. `join(token)` resolves with the code that
// ended the session.
export async function runKiosk(join) {
  document.body.dataset.kiosk = "true";
  if (window.location.hash === "#reset") {
    saveCredential(null);
    window.history.replaceState(null, "", "/kiosk");
  }
  await kioskLanguages();
  startKioskStatus();
  showRules();
  let credential = loadCredential();
  let refused = false;
  let over = null; // the session whose token stopped working
  for (;;) {
    if (!credential) {
      credential = await askForCredential(refused);
      saveCredential(credential);
      refused = false;
    }
    let current;
    try {
      current = await fetchSession(credential);
    } catch (err) {
      if (CREDENTIAL_REFUSED.has(err.code)) {
        credential = null;
        refused = true;
        saveCredential(null);
        continue;
      }
      ui.setState("kiosk-idle"); // no session yet (or the server is unreachable)
      await sleep(POLL_MS);
      continue;
    }
    const sessionId = current.session && current.session.id;
    if (sessionId && sessionId === over) {
      ui.setState("kiosk-idle"); // ended or removed: wait for the officer's next session
      await sleep(POLL_MS);
      continue;
    }
    let code;
    try {
      code = await join(current.token);
    } catch (err) {
      console.error("tyndau: kiosk join failed", err);
      code = "internal_error";
    }
    if (SESSION_OVER.has(code)) over = sessionId;
    // Nothing of this session stays on the screen for the next detainee.
    ui.showIdentity({});
    ui.hideNotice();
    ui.setState("kiosk-idle");
    await sleep(SESSION_OVER.has(code) ? 0 : POLL_MS);
  }
}
