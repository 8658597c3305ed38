// The judge's and secretary's own channel (`court_message`, docs/signaling.md),
// in the console when `permissions` include court_chat. The parties never see
// it and it is not the protocol. Messages from the other side count as unread
// while the channel is closed; opening it reads them.

import { setPlainText, setRoleText, setText } from "./i18n.js";
import { clockTime } from "./protocol-view.js";

const $ = (id) => document.getElementById(id);
const chat = { selfId: null, seen: new Set(), unread: 0, request: null };

// `history`: the join ack's `court_messages`; `request(event, payload)` as in app.js.
export function startCourtChat({ permissions, selfId, history, request }) {
  const section = $("chat-section");
  section.hidden = !permissions.has("court_chat");
  if (section.hidden) return;
  chat.selfId = selfId;
  chat.request = request;
  chat.seen.clear();
  chat.unread = 0;
  $("chat-list").replaceChildren();
  for (const message of Array.isArray(history) ? history : []) addMessage(message, false);
  showUnread();
  bindOnce();
}

// `court_message` event: a new line (our own comes back too: shown once).
export function courtMessage(message) {
  addMessage(message, true);
}

const isOpen = () => $("chat-toggle").getAttribute("aria-expanded") === "true";

function addMessage(message, live) {
  if (!message || typeof message.id !== "string" || typeof message.text !== "string") return;
  if (chat.seen.has(message.id)) return;
  chat.seen.add(message.id);
  const from = message.from && typeof message.from === "object" ? message.from : {};
  const row = $("chat-row-template").content.firstElementChild.cloneNode(true);
  row.dataset.mine = String(from.id === chat.selfId);
  setPlainText(row.querySelector(".chat-name"), String(from.name || ""));
  setRoleText(row.querySelector(".chat-role"), from.role);
  setPlainText(row.querySelector(".chat-time"), clockTime(message.at));
  setPlainText(row.querySelector(".chat-text"), message.text);
  const list = $("chat-list");
  list.append(row);
  list.scrollTop = list.scrollHeight;
  if (live && from.id !== chat.selfId && !isOpen()) {
    chat.unread += 1;
    showUnread();
  }
}

function showUnread() {
  const badge = $("chat-unread");
  badge.hidden = chat.unread === 0;
  setText(badge, "chat.unread", { count: chat.unread });
  $("chat-section").dataset.unread = String(chat.unread);
}

function setOpen(open) {
  $("chat-toggle").setAttribute("aria-expanded", String(open));
  $("chat-body").hidden = !open;
  if (!open) return;
  chat.unread = 0;
  showUnread();
  $("chat-input").focus();
}

async function send() {
  const input = $("chat-input");
  const text = input.value.trim();
  if (!text || !chat.request) return;
  const button = $("chat-send");
  button.disabled = true;
  try {
    const reply = await chat.request("court_message", { text });
    if (reply && reply.message) {
      addMessage(reply.message, false);
      input.value = "";
    }
  } finally {
    button.disabled = false;
    input.focus();
  }
}

function bindOnce() {
  const section = $("chat-section");
  if (section.dataset.bound) return;
  section.dataset.bound = "1";
  $("chat-toggle").addEventListener("click", () => setOpen(!isOpen()));
  $("chat-form").addEventListener("submit", (event) => {
    event.preventDefault();
    void send();
  });
  // Enter sends, Shift+Enter breaks the line; Escape closes and returns to the toggle.
  $("chat-input").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      void send();
    }
  });
  $("chat-body").addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    setOpen(false);
    $("chat-toggle").focus();
  });
}
