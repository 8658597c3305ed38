// The court's list of calls for help (`help_update`): who asked and when;
// "On my way" (`handling`) tells the person someone is on it, "Handled"
// closes it. Shown when `permissions` include handle_help.

import { setPlainText, setRoleText, setText, translate } from "./i18n.js";
import { clockTime } from "./protocol-view.js";

const $ = (id) => document.getElementById(id);
const desk = { open: new Map(), request: null, active: false };

// `open`: the join ack's `help_requests`.
export function startHelpList({ permissions, open, request }) {
  desk.active = permissions.has("handle_help");
  $("help-section").hidden = !desk.active;
  if (!desk.active) return;
  desk.request = request;
  desk.open.clear();
  for (const help of Array.isArray(open) ? open : []) remember(help);
  bindOnce();
  render();
}

export function helpListUpdate(help) {
  if (!desk.active || !help || typeof help.id !== "string") return;
  const isNew = !desk.open.has(help.id) && help.state === "asked";
  remember(help);
  render();
  if (isNew) {
    // Said once, politely, to screen readers; the list shows it to everyone.
    const who = help.participant || {};
    setText($("help-alert"), "help.alert", {
      name: who.name || "",
      time: clockTime(help.asked_at),
    });
  }
}

function remember(help) {
  if (!help || typeof help.id !== "string") return;
  if (help.state === "handled") desk.open.delete(help.id);
  else desk.open.set(help.id, help);
}

function render() {
  const list = $("help-list");
  const rows = [];
  for (const help of desk.open.values()) {
    const row = $("help-row-template").content.firstElementChild.cloneNode(true);
    translate(row);
    const who = help.participant || {};
    row.dataset.helpId = help.id;
    row.dataset.participantId = String(who.id || "");
    row.dataset.helpState = help.state;
    setPlainText(row.querySelector(".row-name"), String(who.name || ""));
    setRoleText(row.querySelector(".row-role"), who.role);
    setText(row.querySelector(".help-when"), "help.asked_at", { time: clockTime(help.asked_at) });
    const state = row.querySelector(".help-state");
    if (help.state === "handling") {
      const by = help.by || {};
      setText(state, "help.state_handling", { name: by.name || "" });
    } else {
      setText(state, "help.state_asked");
    }
    row.querySelector('[data-help-act="handling"]').hidden = help.state === "handling";
    rows.push(row);
  }
  list.replaceChildren(...rows);
  $("help-empty").hidden = rows.length > 0;
  setPlainText($("help-count"), rows.length ? `(${rows.length})` : "");
  $("help-section").dataset.open = String(rows.length);
}

function bindOnce() {
  const section = $("help-section");
  if (section.dataset.bound) return;
  section.dataset.bound = "1";
  section.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-help-act]");
    const row = button ? button.closest("[data-help-id]") : null;
    if (!row || button.disabled || !desk.request) return;
    button.disabled = true;
    try {
      const reply = await desk.request("help_answer", {
        request_id: row.dataset.helpId,
        state: button.dataset.helpAct,
      });
      if (reply && reply.help) helpListUpdate(reply.help);
    } finally {
      button.disabled = false;
    }
  });
}
