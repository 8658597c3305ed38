// A participant's connection as the court sees it: connected, reconnecting
// (dropped, within the server's grace period), disconnected (not back in
// time), or back (connected again after a drop, for a few seconds, so the
// judge notices the return as well as the drop).

const BACK_SHOWN_MS = 10000;

const lastConnected = new Map(); // participant id -> connected at the last look
const backUntil = new Map(); // participant id -> when "back" turns into "connected"

// `onExpired(id)` is called when a "back" should be shown as plain "connected".
export function connectionState(p, onExpired) {
  const connected = p.connected !== false;
  const before = lastConnected.get(p.id);
  lastConnected.set(p.id, connected);
  if (!connected) {
    backUntil.delete(p.id);
    return p.reconnecting === true ? "reconnecting" : "disconnected";
  }
  if (before === false) {
    backUntil.set(p.id, Date.now() + BACK_SHOWN_MS);
    window.setTimeout(() => onExpired(p.id), BACK_SHOWN_MS + 50);
  }
  return (backUntil.get(p.id) || 0) > Date.now() ? "back" : "connected";
}
