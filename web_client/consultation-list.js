// The court's view of the private consultations going on: who is in each,
// since when, and "Recall" (`recall_consultation`). The court never sees or
// hears a consultation; it sees that one is going on.
//
// Members come from the participants' `consultation` ids (kept current by
// participant_updated); the start time from the join ack's `consultations`
// and from `consultation_started` protocol entries.

import { setPlainText, setText } from "./i18n.js";
import { showIn, syncRows } from "./keyed-list.js";
import { clockTime } from "./protocol-view.js";

// The consultations `participants` (a Map id -> Participant) are in, each as
// {id, members: [Participant]}, in order of first appearance.
export function runningConsultations(participants) {
  const byId = new Map();
  for (const p of participants.values()) {
    if (p.place !== "consultation" || typeof p.consultation !== "string") continue;
    if (!byId.has(p.consultation)) byId.set(p.consultation, { id: p.consultation, members: [] });
    byId.get(p.consultation).members.push(p);
  }
  return [...byId.values()];
}

export function renderConsultations(section, consultations, startedAt, permissions) {
  syncRows(section.querySelector(".consultation-list"), consultations, {
    key: (c) => c.id,
    templateId: "consultation-row-template",
    update: (row, c) => {
      row.dataset.consultationId = c.id;
      setPlainText(row.querySelector(".row-name"), c.members.map((p) => p.name).join(" · "));
      const since = startedAt.get(c.id);
      const sinceEl = row.querySelector(".row-since");
      if (since) setText(sinceEl, "console.since", { time: clockTime(since) });
      sinceEl.hidden = !since;
      showIn(row, '[data-action="recall"]', permissions.has("recall_consultation"));
    },
  });
  section.hidden = consultations.length === 0;
}
