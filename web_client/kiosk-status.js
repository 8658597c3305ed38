// The kiosk's one big line: what is happening, in words a detainee reads at
// a glance ("waiting for the judge", "in the hearing", "private consultation
// with your lawyer", "recess"). It follows what the join flow already puts on
// <body> (data-state, data-place, data-hearing-state), so it needs no hooks
// of its own into the flow.

import { setText } from "./i18n.js";

function statusKey(body) {
  const { state, place, hearingState } = body.dataset;
  if (state === "kiosk-setup") return "kiosk.status_setup";
  if (state === "kiosk-idle") return "kiosk.status_idle";
  if (state === "connecting") return "kiosk.status_connecting";
  if (state !== "joined") return "kiosk.status_idle";
  if (place === "consultation") return "kiosk.status_consultation";
  if (hearingState === "recess") return "kiosk.status_recess";
  if (place === "hearing" && hearingState === "in_session") return "kiosk.status_in_hearing";
  return "kiosk.status_waiting";
}

export function startKioskStatus() {
  const body = document.body;
  const banner = document.getElementById("kiosk-status");
  const text = document.getElementById("kiosk-status-text");
  banner.hidden = false;
  const update = () => {
    const key = statusKey(body);
    banner.dataset.status = key.split("_").slice(1).join("_"); // "in_hearing", "recess"...
    setText(text, key);
  };
  new MutationObserver(update).observe(body, {
    attributes: true,
    attributeFilter: ["data-state", "data-place", "data-hearing-state"],
  });
  update();
}
