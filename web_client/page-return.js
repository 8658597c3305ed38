// Coming back to the page (a tab switch, a locked phone, another app in
// front) must not leave a frozen call.
//
// Phones stop the camera of a page in the background, and browsers pause its
// media elements and suspend its audio. On return (visibilitychange,
// pageshow), and every few seconds while visible, each local track that has
// ended is opened again and put in place on the publisher's sender
// (local-tracks.js: no renegotiation); the page's videos play again and the
// audio resumes.

import { resumeAudio } from "./audio-check.js";
import { acquireTrack } from "./local-media.js";
import { localTrackOf, replaceLocalTrack } from "./local-tracks.js";

const CHECK_EVERY_MS = 3000;

// `current()`: {stream, pc} of the call now (either may be null);
// `onRecovered(kinds)`: after tracks of those kinds were replaced.
export function watchPageReturn({ current, onRecovered }) {
  let running = false;

  async function recover() {
    if (running || document.visibilityState !== "visible") return;
    running = true;
    try {
      const { stream, pc } = current();
      const recovered = [];
      for (const kind of ["audio", "video"]) {
        const old = localTrackOf(stream, kind);
        if (!old || old.readyState !== "ended") continue; // never had one, or still fine
        const deviceId = old.getSettings().deviceId;
        try {
          const fresh = await acquireTrack(kind, deviceId ? { deviceId: { ideal: deviceId } } : {});
          await replaceLocalTrack(stream, pc, old, fresh);
          recovered.push(kind);
        } catch (err) {
          console.warn(`tyndau: could not reopen the ${kind} device`, err);
        }
      }
      if (recovered.length) onRecovered(recovered);
      resumeAudio();
      for (const video of document.querySelectorAll("video")) {
        if (video.srcObject && video.paused) video.play().catch(() => {});
      }
    } finally {
      running = false;
    }
  }

  document.addEventListener("visibilitychange", () => void recover());
  window.addEventListener("pageshow", () => void recover());
  window.setInterval(() => void recover(), CHECK_EVERY_MS);
  return recover;
}
