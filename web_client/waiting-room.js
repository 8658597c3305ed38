// The court's view of the waiting room: who waits, with Admit (parties) or
// Call in (witnesses and experts, one at a time), Remove for the judge, and
// "Admit all" (which the server applies to connected parties only, never to
// witnesses or experts).

import { setText } from "./i18n.js";
import { showIn, syncRows } from "./keyed-list.js";
import { fillPerson } from "./person.js";
import { showSelfTest } from "./self-test-badge.js";

function admissibleInBulk(p) {
  return p.connected !== false && !p.called_in_only;
}

export function renderWaitingRoom(section, waiting, permissions) {
  syncRows(section.querySelector(".waiting-list"), waiting, {
    key: (p) => p.id,
    templateId: "waiting-row-template",
    update: (row, p) => {
      fillPerson(row, p);
      showSelfTest(row, p);
      row.dataset.waitingId = p.id;
      const calledIn = Boolean(p.called_in_only);
      showIn(row, '[data-action="admit"]', !calledIn && permissions.has("admit"));
      showIn(row, '[data-action="call_in"]', calledIn && permissions.has("call_witness"));
      showIn(row, '[data-action="remove"]', permissions.has("remove"));
    },
  });
  setText(section.querySelector(".waiting-count"), "console.count", { count: waiting.length });
  section.querySelector(".waiting-empty").hidden = waiting.length > 0;
  section.querySelector('[data-action="admit_all"]').hidden = !(
    permissions.has("admit") && waiting.some(admissibleInBulk)
  );
}
