// The court's rules, read before joining.
//
// A party, a witness or an observer joins only after pressing "I have read the
// rules": the hearing is a court procedure, and they are told beforehand how
// to behave in it and what the court may do (mute, remove). The court itself
// (judge, secretary) is not asked. Once read, a reload of the same link in
// the same tab does not ask again (sessionStorage, per hearing and person).

import { isCourtRole } from "./procedure.js";
import * as ui from "./ui.js";

const STORAGE_PREFIX = "tyndau.rules_read.";

function storageKey(claims) {
  return `${STORAGE_PREFIX}${claims.hearing}:${claims.sub}`;
}

function alreadyRead(claims) {
  try {
    return window.sessionStorage.getItem(storageKey(claims)) === "1";
  } catch {
    return false; // storage disabled: ask every time
  }
}

function remember(claims) {
  try {
    window.sessionStorage.setItem(storageKey(claims), "1");
  } catch {
    // not remembered; asked again after a reload
  }
}

// Resolves once the rules have been read (at once for the court, or when
// this tab already read them).
export function acknowledgeRules(claims) {
  if (isCourtRole(claims.role) || alreadyRead(claims)) return Promise.resolve();
  ui.setState("rules");
  const button = document.getElementById("btn-rules-accept");
  button.focus();
  return new Promise((resolve) => {
    button.addEventListener(
      "click",
      () => {
        remember(claims);
        resolve();
      },
      { once: true },
    );
  });
}
