// The court's state buttons (open, start, recess, resume, close): only the
// acts the hearing's state allows now and this person's role may take.

import { availableActs } from "./procedure.js";

export function renderStateControls(container, { hearingState, stateActs, permissions }) {
  const acts = permissions.has("change_state") ? availableActs(stateActs, hearingState) : [];
  for (const button of container.querySelectorAll("button[data-act]")) {
    button.hidden = !acts.includes(button.dataset.act);
  }
  container.hidden = acts.length === 0;
}
