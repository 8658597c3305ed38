// The self-test's result on a row of the court's console (waiting room and
// participants): the verdict, the round trip and loss measured, a camera or
// microphone that did not work, and when. Absent until the person has run it.

import { setText } from "./i18n.js";

const VERDICTS = new Set(["good", "poor", "bad"]);

function clock(iso) {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return "";
  const pad = (n) => String(n).padStart(2, "0");
  return `${pad(at.getHours())}:${pad(at.getMinutes())}`; // courts here read a 24-hour clock
}

function part(key, params = null) {
  const span = document.createElement("span");
  span.className = "selftest-part";
  setText(span, key, params);
  return span;
}

export function showSelfTest(row, participant) {
  const badge = row.querySelector(".row-selftest");
  const result = participant.self_test;
  if (!result || typeof result !== "object" || !VERDICTS.has(result.verdict)) {
    badge.hidden = true;
    badge.replaceChildren();
    delete badge.dataset.verdict;
    return;
  }
  badge.dataset.verdict = result.verdict;
  const parts = [part(`console.self_test_${result.verdict}`, { time: clock(result.at) })];
  if (typeof result.rtt_ms === "number" && typeof result.loss_percent === "number") {
    parts.push(
      part("console.self_test_network", {
        rtt: Math.round(result.rtt_ms),
        loss: result.loss_percent,
      }),
    );
  } else if (result.loss_percent === 100) {
    parts.push(part("console.self_test_no_network"));
  }
  if (result.camera === false) parts.push(part("console.self_test_no_camera"));
  if (result.microphone === false) parts.push(part("console.self_test_no_microphone"));
  badge.replaceChildren(...parts);
  badge.hidden = false;
}
