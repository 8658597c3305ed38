// Errors that carry a machine-readable code.
//
// Every failure the user may see has a code: the server's codes from
// docs/signaling.md (in `{ok: false, error}` acks and `connect_error`) and a
// few client-side ones (camera/microphone, connection). The UI translates the
// code through the i18n key `error.<code>`.

export class TyndauError extends Error {
  constructor(code, message = code, { event = null, cause } = {}) {
    super(message || code, cause === undefined ? undefined : { cause });
    this.name = "TyndauError";
    this.code = code;
    this.event = event;
  }
}

// The code of any thrown value, or `fallback` when it has none. DOMException
// has a numeric `code`, so only a string counts.
export function errorCode(err, fallback = "unknown") {
  return err && typeof err.code === "string" && err.code ? err.code : fallback;
}
