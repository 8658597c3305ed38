// The hearing's state as everyone sees it: `body[data-hearing-state]` and a
// line under the header ("Recess — the judge has retired to deliberate").
// The state comes in the join ack's `hearing` and in every `hearing_state`.

import { setText } from "./i18n.js";

const STATES = {
  scheduled: "hearing_state.scheduled",
  open: "hearing_state.open",
  in_session: "hearing_state.in_session",
  recess: "hearing_state.recess",
  closed: "hearing_state.closed",
};

export function hearingState(hearing) {
  return hearing && typeof hearing.state === "string" ? hearing.state : null;
}

export function showHearingState(hearing) {
  const state = hearingState(hearing);
  const line = document.getElementById("hearing-status");
  if (!state || !STATES[state]) {
    delete document.body.dataset.hearingState;
    line.hidden = true;
    return;
  }
  document.body.dataset.hearingState = state;
  setText(document.getElementById("hearing-status-text"), STATES[state]);
  line.hidden = false;
}
