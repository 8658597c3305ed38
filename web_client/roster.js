// The court's list of everyone past the waiting room: name, role, place,
// connected or not, raised hand, connection quality, and the court's
// controls: mute (locked: the server stops forwarding) and release, send back
// to the waiting room, remove (judge only, after a confirm step).

import { setText } from "./i18n.js";
import { showIn, syncRows } from "./keyed-list.js";
import { fillPerson } from "./person.js";
import { showSelfTest } from "./self-test-badge.js";

const PLACES = {
  hearing: "place.hearing",
  consultation: "place.consultation",
  deliberation: "place.deliberation",
  waiting: "place.waiting",
};

const GRADES = {
  good: "quality.good",
  poor: "quality.poor",
  bad: "quality.bad",
  unknown: "quality.unknown",
};

function grade(quality) {
  const value = quality && typeof quality.grade === "string" ? quality.grade : "unknown";
  return GRADES[value] ? value : "unknown";
}

function flags(p, field) {
  const value = p[field] && typeof p[field] === "object" ? p[field] : {};
  return { audio: value.audio === true, video: value.video === true };
}

// `qualityOf(p)`: the latest grade known for p (quality events are newer
// than the participant record between two updates).
export function renderRoster(section, present, permissions, qualityOf) {
  syncRows(section.querySelector(".roster-list"), present, {
    key: (p) => p.id,
    templateId: "roster-row-template",
    update: (row, p) => {
      fillPerson(row, p);
      showSelfTest(row, p);
      setText(row.querySelector(".row-place"), PLACES[p.place] || "place.hearing");
      row.dataset.place = p.place;
      row.dataset.handRaised = String(p.hand_raised === true);
      showIn(row, ".row-hand", p.hand_raised === true);

      const quality = grade(qualityOf(p));
      const qualityEl = row.querySelector(".row-quality");
      qualityEl.dataset.quality = quality;
      setText(qualityEl, GRADES[quality]);
      qualityEl.hidden = !permissions.has("see_quality");

      const muted = flags(p, "muted");
      const locked = flags(p, "mute_locked");
      const publishing = flags(p, "publishing");
      const canMute = permissions.has("mute_others");
      for (const kind of ["audio", "video"]) {
        row.dataset[`${kind}Locked`] = String(locked[kind]);
        showIn(row, `.row-muted-${kind}`, muted[kind]);
        // A kind they do not send has nothing to mute, unless a lock is on it.
        const relevant = canMute && (publishing[kind] || locked[kind]);
        showIn(row, `[data-action="mute"][data-kind="${kind}"]`, relevant && !locked[kind]);
        showIn(row, `[data-action="release_mute"][data-kind="${kind}"]`, canMute && locked[kind]);
      }
      const court = Boolean(p.court);
      showIn(row, '[data-action="dismiss"]', !court && p.place === "hearing" && permissions.has("dismiss"));
      showIn(row, '[data-action="remove"]', !court && permissions.has("remove"));
    },
  });
  section.querySelector(".roster-empty").hidden = present.length > 0;
}
