// Facts of the hearing procedure the client uses to choose which control to
// show. The server decides (server/procedure/permissions.py and states.py) and
// sends what a console needs: `permissions` and `state_acts` in the join ack,
// `court` and `called_in_only` on each participant. Only the rules screen,
// shown before joining, has nothing from the server yet: it goes by the
// token's role (the court is not asked to read the parties' rules).

const COURT_ROLES = new Set(["judge", "secretary"]);

export function isCourtRole(role) {
  return COURT_ROLES.has(role);
}

// The acts of `stateActs` (the join ack's `state_acts`) legal in `state`.
export function availableActs(stateActs, state) {
  return stateActs.filter((entry) => entry.from.includes(state)).map(({ act }) => act);
}
