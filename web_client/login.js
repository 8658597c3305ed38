// Entry point of /login: sign in with an EDS through NCALayer.
//
//   1. POST /api/auth/challenge -> a one-time nonce;
//   2. NCALayer signs the nonce (CMS, content attached);
//   3. POST /api/auth/eds {cms} -> a session token and who signed;
//   4. the token stays in sessionStorage and is refreshed before it expires;
//      "Sign out" ends it on the server and forgets it here.
//
// A reload of the tab keeps the session (checked with GET /api/me).

import * as api from "./auth-api.js";
import { DayList } from "./day-list.js";
import { errorCode } from "./errors.js";
import { currentLanguage, initI18n, switchLanguage } from "./i18n.js";
import * as ui from "./login-ui.js";
import { signWithNcaLayer } from "./ncalayer.js";
import { clearSession, isExpired, loadSession, SessionKeeper } from "./session.js";

let busy = false;

const keeper = new SessionKeeper({
  onRefreshed: () => {},
  onEnded: (code) => signedOut(code),
});

// The day's hearings, for a judge or secretary (day-list.js).
let days = null;

function signedIn(session, { focus = true } = {}) {
  ui.hideError();
  ui.setStatus(null);
  ui.showAccount(session);
  ui.setState("signed-in");
  days.show(session);
  if (focus) ui.focusAccount();
}

function signedOut(code = null, detail = "") {
  days.hide();
  ui.setState("signed-out");
  if (code) {
    ui.setStatus(null);
    ui.showError(code, detail);
  }
  ui.focusSignIn();
}

// What to show under an error's message: NCALayer's own words, or for a code
// we have no message for, the code and the server's explanation.
function detailOf(err) {
  const code = errorCode(err);
  if (code === "ncalayer_error") return err.message || "";
  return [code, err && err.serverMessage].filter(Boolean).join(": ");
}

async function signIn() {
  if (busy) return;
  busy = true;
  ui.hideError();
  days.hide();
  ui.setState("working");
  try {
    ui.setStatus("login.step_challenge");
    const challenge = await api.requestChallenge();
    ui.setStatus("login.step_ncalayer");
    const cms = await signWithNcaLayer(challenge.nonce, { locale: currentLanguage() });
    ui.setStatus("login.step_verify");
    const login = await api.loginWithCms(cms);
    const session = {
      token: login.token,
      expiresAt: login.expiresAt,
      userId: login.userId,
      person: login.person,
      roles: login.roles,
    };
    keeper.start(session);
    signedIn(session);
  } catch (err) {
    console.warn("tyndau: sign-in failed", err);
    ui.setStatus(null);
    signedOut(errorCode(err), detailOf(err));
  } finally {
    busy = false;
  }
}

async function signOut() {
  const session = keeper.session;
  keeper.stop();
  clearSession();
  days.hide();
  ui.setState("signed-out");
  ui.hideError();
  ui.setStatus("login.signed_out");
  ui.focusSignIn();
  if (session) {
    try {
      await api.logout(session.token);
    } catch (err) {
      // Forgotten here either way; the token expires on its own.
      console.warn("tyndau: logout request failed", errorCode(err));
    }
  }
}

// A session kept by this tab: show it, and check it is still good.
async function restore() {
  const stored = loadSession();
  if (!stored) return false;
  if (isExpired(stored)) {
    clearSession();
    return false;
  }
  keeper.start(stored);
  signedIn(stored, { focus: false });
  try {
    const me = await api.fetchMe(stored.token);
    if (keeper.session !== stored) return true;
    const session = { ...stored, roles: me.roles };
    if (me.name) session.person = { ...stored.person, name: me.name };
    if (me.iin) session.person = { ...session.person, iin: me.iin };
    keeper.start(session);
    ui.showAccount(session);
    days.show(session);
  } catch (err) {
    if (err && (err.status === 401 || err.status === 403) && keeper.session === stored) {
      keeper.end("session_expired");
    }
    // Otherwise (offline, server restarting) the stored view stands.
  }
  return true;
}

async function main() {
  await initI18n();
  days = new DayList({
    getToken: () => (keeper.session ? keeper.session.token : ""),
    onSessionEnded: (code) => {
      if (keeper.session) keeper.end(code);
    },
  });
  ui.syncLanguageSelect(currentLanguage());
  ui.bindControls({
    onSignIn: () => void signIn(),
    onSignOut: () => void signOut(),
    onLanguage: (lang) => void switchLanguage(lang).then(() => ui.syncLanguageSelect(currentLanguage())),
  });
  if (!(await restore())) signedOut();
}

void main();
