// The local camera and microphone (getUserMedia).
//
// Failures become TyndauErrors with client-side codes (`media_denied`,
// `media_not_found`, `media_busy`, `media_unsupported`, `media_failed`), each
// translated as `error.<code>`. If one of the two devices is missing or busy,
// the other is still used.

import { TyndauError } from "./errors.js";

const VIDEO_CONSTRAINTS = {
  width: { ideal: 640 },
  height: { ideal: 480 },
  facingMode: "user",
};
const AUDIO_CONSTRAINTS = {
  echoCancellation: true,
  noiseSuppression: true,
  autoGainControl: true,
};

function mediaErrorCode(err) {
  switch (err && err.name) {
    case "NotAllowedError":
    case "PermissionDeniedError":
    case "SecurityError":
      return "media_denied";
    case "NotFoundError":
    case "DevicesNotFoundError":
    case "OverconstrainedError":
      return "media_not_found";
    case "NotReadableError":
    case "TrackStartError":
    case "AbortError":
      return "media_busy";
    default:
      return "media_failed";
  }
}

function getUserMedia({ audio, video }) {
  return navigator.mediaDevices.getUserMedia({
    audio: audio ? AUDIO_CONSTRAINTS : false,
    video: video ? VIDEO_CONSTRAINTS : false,
  });
}

// Resolves to {stream, missing}: `missing` is "audio" or "video" when only the
// other kind could be had, else null.
export async function acquireLocalMedia(wanted) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    // No secure context (plain http on a non-local host), or a very old browser.
    throw new TyndauError("media_unsupported", "navigator.mediaDevices is not available");
  }
  try {
    return { stream: await getUserMedia(wanted), missing: null };
  } catch (err) {
    const code = mediaErrorCode(err);
    if (code !== "media_denied" && wanted.audio && wanted.video) {
      // Audio matters most in a hearing: try it first on its own.
      for (const kind of ["audio", "video"]) {
        try {
          const stream = await getUserMedia({ audio: kind === "audio", video: kind === "video" });
          return { stream, missing: kind === "audio" ? "video" : "audio" };
        } catch {
          // try the other kind
        }
      }
    }
    throw new TyndauError(code, err && err.message ? err.message : code, { cause: err });
  }
}

export function stopLocalMedia(stream) {
  if (!stream) return;
  for (const track of stream.getTracks()) track.stop();
}

// One fresh track of `kind`: another camera (camera-switch.js) or one the
// system stopped while the page was hidden (page-return.js). `extra`:
// constraints over the defaults (deviceId, facingMode).
export async function acquireTrack(kind, extra = {}) {
  const defaults = kind === "video" ? VIDEO_CONSTRAINTS : AUDIO_CONSTRAINTS;
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ [kind]: { ...defaults, ...extra } });
    return stream.getTracks()[0];
  } catch (err) {
    const code = mediaErrorCode(err);
    throw new TyndauError(code, err && err.message ? err.message : code, { cause: err });
  }
}
