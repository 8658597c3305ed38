// A list kept in place row by row, keyed by id (the court console's waiting
// room, participants, consultations and protocol). A row is cloned once from
// its <template> and then only updated: a button keeps its keyboard focus,
// and a click never lands on a row that was just rebuilt underneath it.

import { translate } from "./i18n.js";

// Make `list`'s rows match `items`, in order. `key(item)` names a row,
// `update(row, item)` brings it up to date (also right after it is made).
export function syncRows(list, items, { key, templateId, update }) {
  const existing = new Map();
  for (const row of list.children) existing.set(row.dataset.key, row);
  const seen = new Set();
  let previous = null;
  for (const item of items) {
    const id = String(key(item));
    seen.add(id);
    let row = existing.get(id);
    if (!row) {
      row = document.getElementById(templateId).content.firstElementChild.cloneNode(true);
      row.dataset.key = id;
      translate(row);
    }
    update(row, item);
    const wanted = previous ? previous.nextElementSibling : list.firstElementChild;
    if (row !== wanted) list.insertBefore(row, wanted);
    previous = row;
  }
  for (const [id, row] of existing) {
    if (!seen.has(id)) row.remove();
  }
}

// Show the elements of `row` matching `selector` only when `visible`.
export function showIn(row, selector, visible) {
  for (const el of row.querySelectorAll(selector)) el.hidden = !visible;
}
