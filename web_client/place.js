// Where this participant is (docs/signaling.md, "Places"): waiting, hearing,
// consultation or deliberation, from the join ack's `self` and every
// `self_updated`. It is put on `body[data-place]`; CSS then shows the
// waiting-room screen instead of an empty hearing, the consultation banner or
// the judge's deliberation banner.

import { setText } from "./i18n.js";

const PLACES = new Set(["waiting", "hearing", "consultation", "deliberation"]);

export function currentPlace() {
  return document.body.dataset.place || null;
}

export function showPlace(self) {
  const place = self && PLACES.has(self.place) ? self.place : null;
  if (place) document.body.dataset.place = place;
  else delete document.body.dataset.place;
}

// The waiting-room screen names the hearing people wait for.
export function showWaitingFor(hearing) {
  const el = document.getElementById("waiting-case");
  const caseNumber = hearing && typeof hearing.case_number === "string" ? hearing.case_number : "";
  setText(el, "waiting.case", { case: caseNumber });
  el.hidden = !caseNumber;
}

export function clearPlace() {
  delete document.body.dataset.place;
}
