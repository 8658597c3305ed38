// Front/back camera switch (phones), or the next camera (a computer with two).
//
// The new camera's track replaces the old one on the publisher's sender
// (local-tracks.js): no renegotiation, and the others never see us leave.
// Phones open one camera at a time, so when the new one is busy the old one
// is released first; if the new one cannot be had, the old one comes back.

import { acquireTrack } from "./local-media.js";
import { localTrackOf, replaceLocalTrack } from "./local-tracks.js";

const BUSY = new Set(["media_busy", "media_failed"]);

export async function videoInputs() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return [];
  const devices = await navigator.mediaDevices.enumerateDevices();
  return devices.filter((device) => device.kind === "videoinput");
}

// The camera to switch to: the other facing where the camera says which way
// it faces (phones), else the next device in the list.
function nextConstraints(current, inputs) {
  const settings = current ? current.getSettings() : {};
  if (settings.facingMode === "user" || settings.facingMode === "environment") {
    return { facingMode: { exact: settings.facingMode === "user" ? "environment" : "user" } };
  }
  const ids = inputs.map((device) => device.deviceId).filter(Boolean);
  const at = ids.indexOf(settings.deviceId);
  const next = ids[(at + 1) % ids.length];
  return next ? { deviceId: { exact: next } } : { facingMode: "environment" };
}

// Which way a camera faces, for the preview (a front camera is mirrored).
export function facingOf(track) {
  const facing = track ? track.getSettings().facingMode : "";
  return facing === "environment" ? "environment" : "user";
}

// Switch `stream`'s camera; `pc`: the publish connection (or null). Resolves
// to the new track; rejects with a TyndauError and keeps (or restores) the old.
export async function switchCamera(stream, pc) {
  const old = localTrackOf(stream, "video");
  const oldSettings = old ? old.getSettings() : {};
  const constraints = nextConstraints(old, await videoInputs());
  let fresh;
  try {
    fresh = await acquireTrack("video", constraints);
  } catch (err) {
    if (!old || !BUSY.has(err.code)) throw err;
    old.stop(); // the phone will not open a second camera while this one runs
    try {
      fresh = await acquireTrack("video", constraints);
    } catch (again) {
      const back = await acquireTrack("video", { deviceId: { exact: oldSettings.deviceId } });
      await replaceLocalTrack(stream, pc, old, back);
      throw again;
    }
  }
  await replaceLocalTrack(stream, pc, old, fresh);
  return fresh;
}

// Whether there is another camera to switch to.
export async function hasSeveralCameras() {
  try {
    return (await videoInputs()).length > 1;
  } catch {
    return false;
  }
}
