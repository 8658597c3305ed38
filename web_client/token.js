// The hearing token (JWT) from the join link `/join#token=<JWT>`.
//
// The token travels in the URL fragment so it never reaches server logs. The
// browser only decodes the payload to show who is joining which hearing; the
// server verifies the signature on connect (docs/tokens.md).

import { TyndauError } from "./errors.js";

// The invitation code from an invitation link `/join#invite=<code>`.
export function readInvite(location = window.location) {
  const fragment = new URLSearchParams(location.hash.replace(/^#/, ""));
  const code = fragment.get("invite");
  return code ? code.trim() : null;
}

export function readToken(location = window.location) {
  const fragment = new URLSearchParams(location.hash.replace(/^#/, ""));
  const token = fragment.get("token");
  return token ? token.trim() : null;
}

function base64UrlDecode(segment) {
  const base64 = segment.replace(/-/g, "+").replace(/_/g, "/");
  const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
  const binary = atob(padded);
  const bytes = Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
  return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
}

// The claims of a JWT, unverified. Throws TyndauError("token_malformed").
export function decodeClaims(token) {
  const parts = token.split(".");
  if (parts.length !== 3 || !parts[1]) {
    throw new TyndauError("token_malformed", "not a JWT");
  }
  let claims;
  try {
    claims = JSON.parse(base64UrlDecode(parts[1]));
  } catch (cause) {
    throw new TyndauError("token_malformed", "undecodable JWT payload", { cause });
  }
  if (claims === null || typeof claims !== "object" || Array.isArray(claims)) {
    throw new TyndauError("token_malformed", "JWT payload is not an object");
  }
  return claims;
}

// What the token lets this participant send.
export function publishGrants(claims) {
  const grants = claims && typeof claims.grants === "object" && claims.grants ? claims.grants : {};
  return { audio: grants.publish_audio === true, video: grants.publish_video === true };
}
