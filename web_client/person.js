// How the court console names a participant in its lists: name, translated
// role, and their connection (someone whose connection dropped stays listed,
// reconnecting and then disconnected, and comes back into the same place).

import { connectionState } from "./connection-state.js";
import { setPlainText, setRoleText, setText } from "./i18n.js";

const CONNECTION_KEYS = {
  connected: "console.connected",
  reconnecting: "console.reconnecting",
  disconnected: "console.disconnected",
  back: "console.back",
};

function showConnection(row, state) {
  row.dataset.connection = state;
  setText(row.querySelector(".row-conn"), CONNECTION_KEYS[state]);
}

export function fillPerson(row, participant) {
  row.dataset.participantId = participant.id;
  setPlainText(row.querySelector(".row-name"), participant.name || participant.id);
  setRoleText(row.querySelector(".row-role"), participant.role);
  row.dataset.connected = String(participant.connected !== false);
  const state = connectionState(participant, () => {
    if (row.dataset.connection === "back") showConnection(row, "connected");
  });
  showConnection(row, state);
}
