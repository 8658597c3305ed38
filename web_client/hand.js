// The raised hand: a speaking party asks the court for the floor
// (`raise_hand`). The court sees it on its list; giving the floor lowers it.
// The button shows the server's state (`self.hand_raised`), not a local guess.

import { setAriaLabel, setText } from "./i18n.js";

const $ = () => document.getElementById("btn-hand");
let raised = false;

// Shown only when the role may raise a hand; CSS further limits it to the hearing.
export function setupHand(permissions, request) {
  const button = $();
  button.hidden = !permissions.has("raise_hand");
  if (button.dataset.bound) return;
  button.dataset.bound = "1";
  button.addEventListener("click", () => void request("raise_hand", { raised: !raised }));
}

export function showHand(self) {
  raised = Boolean(self && self.hand_raised);
  const button = $();
  button.classList.toggle("is-raised", raised);
  button.setAttribute("aria-pressed", String(raised));
  setText(button.querySelector(".ctl-text"), raised ? "control.hand_lower" : "control.hand_raise");
  setAriaLabel(button, raised ? "control.hand_lower_label" : "control.hand_raise_label");
}

export function hideHand() {
  $().hidden = true;
}
