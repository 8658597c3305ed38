// The few facts of the hearing procedure the client needs to choose which
// control to show. The server decides (server/procedure/permissions.py and
// states.py) and refuses anything else; these copies only keep buttons that
// would be refused off the screen. The `permissions` of the join ack say what
// this participant's role may do; what follows is what they do not say.

// The court comes straight into the hearing and is never sent out of it
// (permissions.py: ADMITTED_ON_JOIN, and `dismiss`/`remove` refuse the court).
const COURT_ROLES = new Set(["judge", "secretary"]);

// Witnesses and experts are called in one at a time, never admitted in bulk
// (permissions.py: CALLED_IN_ONLY).
const CALLED_IN_ONLY = new Set(["witness", "expert"]);

// The hearing's state acts, in the order the console shows them: from which
// states each is legal (states.py: TRANSITIONS) and which roles may take it
// (permissions.py: STATE_ACTS).
const STATE_ACTS = [
  { act: "open", from: ["scheduled"], roles: ["judge", "secretary"] },
  { act: "start", from: ["open"], roles: ["judge"] },
  { act: "recess", from: ["in_session"], roles: ["judge"] },
  { act: "resume", from: ["recess"], roles: ["judge"] },
  { act: "close", from: ["scheduled", "open", "in_session", "recess"], roles: ["judge"] },
];

export const ALL_STATE_ACTS = STATE_ACTS.map(({ act }) => act);

export function isCourt(role) {
  return COURT_ROLES.has(role);
}

export function isCalledInOnly(role) {
  return CALLED_IN_ONLY.has(role);
}

// The acts `role` may take on a hearing in `state` (none once it is closed).
export function availableActs(state, role) {
  return STATE_ACTS.filter((entry) => entry.from.includes(state) && entry.roles.includes(role)).map(
    ({ act }) => act,
  );
}
