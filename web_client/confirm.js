// The confirm step before an act that cannot be undone (removing someone,
// closing the hearing): a modal <dialog> that names the act and the person.

import { setText } from "./i18n.js";

// Resolves true when the user confirms, false when they cancel or press Escape.
export function confirmAction({ question, confirmLabel, params = null }) {
  const dialog = document.getElementById("confirm-dialog");
  setText(document.getElementById("confirm-text"), question, params);
  setText(document.getElementById("confirm-yes"), confirmLabel);
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm"), {
      once: true,
    });
    dialog.showModal();
  });
}
