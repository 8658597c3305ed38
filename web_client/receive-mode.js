// "Save data: sound only": on a poor link a participant stops receiving video
// (`set_receive {video: false}`); the server holds it back and, when they want
// it again, resumes each picture from a keyframe. Tiles show their placeholder
// meanwhile. The choice is remembered on this device and applied on every join.

import { setAriaLabel } from "./i18n.js";

const $ = () => document.getElementById("btn-sound-only");
const STORAGE_KEY = "tyndau.soundOnly";
let requestFn = null;

function stored() {
  try {
    return window.localStorage.getItem(STORAGE_KEY) === "1";
  } catch {
    return false; // storage blocked: the choice lasts this page only
  }
}

function store(on) {
  try {
    window.localStorage.setItem(STORAGE_KEY, on ? "1" : "0");
  } catch {
    // ignored: see stored()
  }
}

function show(on) {
  const button = $();
  button.classList.toggle("is-off", on);
  button.setAttribute("aria-pressed", String(on));
  setAriaLabel(button, on ? "control.sound_only_off_label" : "control.sound_only_label");
  document.body.classList.toggle("sound-only", on);
}

async function apply(on) {
  if (!requestFn) return;
  const reply = await requestFn("set_receive", { video: !on });
  if (reply) {
    store(on);
    show(on);
  }
}

// After each join: show the button (everyone may receive) and re-apply the choice.
export function setupReceiveMode(permissions, request) {
  requestFn = request;
  const button = $();
  button.hidden = !permissions.has("subscribe");
  if (!button.dataset.bound) {
    button.dataset.bound = "1";
    button.addEventListener("click", () => void apply(!document.body.classList.contains("sound-only")));
  }
  show(false);
  if (stored()) void apply(true);
}

export function hideReceiveMode() {
  $().hidden = true;
  document.body.classList.remove("sound-only");
}
