// The help button: anyone but the court calls the secretary (`help_request`).
// The person sees that help was asked, and when, then who is on it; the
// state is the server's (`help_update` for their own request), not a guess.

import { setAriaLabel, setText } from "./i18n.js";
import { clockTime } from "./protocol-view.js";

const $ = (id) => document.getElementById(id);
// A handled request's line stays this long, then goes.
const HANDLED_SHOWN_MS = 15000;
let allowed = false;
let hideTimer = null;

// `own`: the join ack's `help` (their open request, or null).
export function setupHelp(permissions, request, own) {
  allowed = permissions.has("ask_help");
  const button = $("btn-help");
  button.hidden = !allowed;
  if (!button.dataset.bound) {
    button.dataset.bound = "1";
    button.addEventListener("click", async () => {
      const reply = await request("help_request", {});
      if (reply && reply.help) showHelp(reply.help);
    });
  }
  showHelp(own);
}

// `help_update` event (the court gets everyone's; this shows only one's own).
export function helpUpdate(help) {
  if (allowed) showHelp(help);
}

export function hideHelp() {
  allowed = false;
  $("btn-help").hidden = true;
  $("help-status").hidden = true;
}

function showHelp(help) {
  const status = $("help-status");
  const button = $("btn-help");
  window.clearTimeout(hideTimer);
  const state = help && typeof help.state === "string" ? help.state : null;
  const open = state === "asked" || state === "handling";
  button.classList.toggle("is-asked", open);
  button.setAttribute("aria-pressed", String(open));
  setAriaLabel(button, open ? "help.button_asked_label" : "help.button_label");
  status.dataset.help = state || "";
  if (!state) {
    status.hidden = true;
    return;
  }
  const by = help.by && typeof help.by === "object" ? help.by : {};
  if (state === "asked") {
    setText(status, "help.asked", { time: clockTime(help.asked_at) });
  } else if (state === "handling") {
    setText(status, "help.handling", { name: by.name || "", time: clockTime(help.updated_at) });
  } else {
    setText(status, "help.handled", { time: clockTime(help.updated_at) });
    hideTimer = window.setTimeout(() => {
      status.hidden = true;
    }, HANDLED_SHOWN_MS);
  }
  status.hidden = false;
}
