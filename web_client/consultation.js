// Private consultations, from the participant's side (docs/procedure.md,
// "Private consultations"): a lawyer or representative and their client step
// out of the hearing into their own media space, and come back.
//
// A "Private consultation" button sits on the tile of every participant this
// one may consult (`can_consult`, decided by the server per viewer; tiles.js
// shows it, CSS only while we are in the hearing). While in consultation the
// banner says that nobody else hears it and nothing is recorded, with
// "Return to the hearing" (`end_consultation`, which ends it for both).

// `request(event, payload)` sends a procedure event and reports refusals.
export function bindConsultation(request) {
  document.getElementById("grid").addEventListener("click", (event) => {
    const button = event.target.closest('button[data-action="consult"]');
    if (!button || !button.dataset.participantId) return;
    void request("start_consultation", { participant_id: button.dataset.participantId });
  });
  document
    .getElementById("btn-end-consultation")
    .addEventListener("click", () => void request("end_consultation", {}));
}
