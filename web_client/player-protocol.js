// The protocol beside the recording: each entry with its place in the
// recording (`recording_offset`, seconds, recesses excluded). Choosing an
// entry seeks the video there; the entry being played is marked as current.

import { has, setPlainText, setText } from "./i18n.js";
import { syncRows } from "./keyed-list.js";
import { whatKey } from "./protocol-view.js";

// "4:05" or "1:02:03": the same digits in every interface language.
export function formatOffset(seconds) {
  if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 0) return "—";
  const whole = Math.floor(seconds);
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = String(whole % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

function isEvent(e) {
  return e !== null && typeof e === "object" && Number.isInteger(e.seq) && typeof e.kind === "string";
}

const hasOffset = (e) => typeof e.recording_offset === "number" && Number.isFinite(e.recording_offset);

function who(e) {
  const actor = e.actor && e.actor.name ? e.actor.name : "";
  const subject = e.subject && e.subject.name ? e.subject.name : "";
  if (actor && subject && subject !== actor) return `${actor} → ${subject}`;
  return actor || subject;
}

export class ProtocolList {
  constructor({ list, empty, video }) {
    this.list = list;
    this.empty = empty;
    this.video = video;
    this.events = [];
    this.current = null;
    this.list.addEventListener("click", (event) => this.onClick(event));
    this.video.addEventListener("timeupdate", () => this.markCurrent());
    this.video.addEventListener("seeked", () => this.markCurrent());
  }

  show(events) {
    this.events = (Array.isArray(events) ? events : []).filter(isEvent).sort((a, b) => a.seq - b.seq);
    this.current = null;
    syncRows(this.list, this.events, {
      key: (e) => e.seq,
      templateId: "player-event-template",
      update: (row, e) => {
        row.dataset.kind = e.kind;
        const button = row.querySelector(".player-seek");
        button.disabled = !hasOffset(e);
        if (hasOffset(e)) button.dataset.offset = String(e.recording_offset);
        else delete button.dataset.offset;
        setPlainText(row.querySelector(".player-offset"), formatOffset(e.recording_offset));
        const what = row.querySelector(".player-what");
        const key = whatKey(e); // a recording marker in words: "Recording paused"
        if (key && has(key)) setText(what, key);
        else setPlainText(what, e.kind); // a newer server's kind: shown as it is
        setPlainText(row.querySelector(".player-who"), who(e));
      },
    });
    this.empty.hidden = this.events.length > 0;
    this.markCurrent();
  }

  onClick(event) {
    const button = event.target.closest(".player-seek");
    if (!button || button.disabled || !this.list.contains(button)) return;
    const offset = Number(button.dataset.offset);
    if (!Number.isFinite(offset)) return;
    this.video.currentTime = offset;
    const playing = this.video.play();
    if (playing && typeof playing.catch === "function") {
      playing.catch(() => {}); // autoplay refused: the position is set, the user presses play
    }
  }

  // The last entry at or before the playback position.
  markCurrent() {
    const now = this.video.currentTime + 0.25;
    let found = null;
    for (const e of this.events) {
      if (hasOffset(e) && e.recording_offset <= now) found = e.seq;
    }
    if (found === this.current) return;
    this.current = found;
    for (const row of this.list.children) {
      if (String(found) === row.dataset.key) row.setAttribute("aria-current", "true");
      else row.removeAttribute("aria-current");
    }
  }
}
