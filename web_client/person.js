// How the court console names a participant in its lists: name, translated
// role, and whether their connection is up (someone whose connection dropped
// stays listed as disconnected and comes back into the same place).

import { setPlainText, setRoleText, setText } from "./i18n.js";

export function fillPerson(row, participant) {
  row.dataset.participantId = participant.id;
  setPlainText(row.querySelector(".row-name"), participant.name || participant.id);
  setRoleText(row.querySelector(".row-role"), participant.role);
  const connected = participant.connected !== false;
  row.dataset.connected = String(connected);
  setText(
    row.querySelector(".row-conn"),
    connected ? "console.connected" : "console.disconnected",
  );
}
