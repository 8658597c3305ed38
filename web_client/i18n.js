// Translations: Kazakh (default), Russian, English.
//
// Strings live in /static/i18n/<lang>.json. Elements carry their key in
// `data-i18n` (text), `data-i18n-aria-label` or `data-i18n-title`, so a
// language switch re-translates the whole page, including dynamic parts.
// The choice is remembered in localStorage; `?lang=xx` in the URL overrides.

export const LANGUAGES = ["kk", "ru", "en"];
export const DEFAULT_LANGUAGE = "kk";
const STORAGE_KEY = "tyndau.lang";

const dictionaries = new Map();
let current = DEFAULT_LANGUAGE;
let strings = {};

function isSupported(lang) {
  return LANGUAGES.includes(lang);
}

function storedLanguage() {
  try {
    return window.localStorage.getItem(STORAGE_KEY);
  } catch {
    return null; // storage disabled (private mode, policy)
  }
}

function storeLanguage(lang) {
  try {
    window.localStorage.setItem(STORAGE_KEY, lang);
  } catch {
    // not remembered; still applied
  }
}

export function initialLanguage() {
  const fromUrl = new URLSearchParams(window.location.search).get("lang");
  if (isSupported(fromUrl)) return fromUrl;
  const stored = storedLanguage();
  if (isSupported(stored)) return stored;
  return DEFAULT_LANGUAGE;
}

async function load(lang) {
  if (!dictionaries.has(lang)) {
    const response = await fetch(`/static/i18n/${lang}.json`, { cache: "no-cache" });
    if (!response.ok) throw new Error(`i18n ${lang}: HTTP ${response.status}`);
    dictionaries.set(lang, await response.json());
  }
  return dictionaries.get(lang);
}

export function currentLanguage() {
  return current;
}

export function has(key) {
  return Object.prototype.hasOwnProperty.call(strings, key);
}

// The translation of `key`; `{name}` placeholders are filled from `params`.
export function t(key, params = {}) {
  const template = has(key) ? strings[key] : key;
  return template.replace(/\{(\w+)\}/g, (match, name) =>
    Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : match,
  );
}

export function roleKey(role) {
  const key = `role.${role}`;
  return has(key) ? key : null;
}

export function errorKey(code) {
  const key = `error.${code}`;
  return has(key) ? key : "error.unknown";
}

// Give `el` the text of `key`, and keep it translated on a language switch.
// `params` fill its `{name}` placeholders; they are kept on the element so a
// language switch fills them again.
export function setText(el, key, params = null) {
  el.dataset.i18n = key;
  if (params) el.dataset.i18nParams = JSON.stringify(params);
  else delete el.dataset.i18nParams;
  el.textContent = t(key, params || {});
}

// Give `el` a fixed, untranslated text (a name, an id).
export function setPlainText(el, text) {
  delete el.dataset.i18n;
  delete el.dataset.i18nParams;
  el.textContent = text;
}

function storedParams(el) {
  if (!el.dataset.i18nParams) return {};
  try {
    return JSON.parse(el.dataset.i18nParams);
  } catch {
    return {};
  }
}

// A procedural role, translated when the client knows it, else as given.
export function setRoleText(el, role) {
  const key = roleKey(role);
  if (key) setText(el, key);
  else setPlainText(el, role ? String(role) : "");
}

export function setAriaLabel(el, key) {
  el.dataset.i18nAriaLabel = key;
  el.setAttribute("aria-label", t(key));
}

export function translate(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) {
    el.textContent = t(el.dataset.i18n, storedParams(el));
  }
  for (const el of root.querySelectorAll("[data-i18n-aria-label]")) {
    el.setAttribute("aria-label", t(el.dataset.i18nAriaLabel));
  }
  for (const el of root.querySelectorAll("[data-i18n-title]")) {
    el.setAttribute("title", t(el.dataset.i18nTitle));
  }
}

async function apply(lang) {
  try {
    strings = await load(lang);
    current = lang;
  } catch (err) {
    console.error("tyndau: cannot load translations", lang, err);
    if (lang === DEFAULT_LANGUAGE) return;
    strings = await load(DEFAULT_LANGUAGE).catch(() => ({}));
    current = DEFAULT_LANGUAGE;
  }
  document.documentElement.lang = current;
  translate(document);
}

export async function initI18n() {
  await apply(initialLanguage());
}

// A choice made in the language switcher: remembered, and the URL's `lang`
// (if any) follows it so a reload keeps it. The fragment (token) is kept.
export async function switchLanguage(lang) {
  if (!isSupported(lang)) return;
  storeLanguage(lang);
  const url = new URL(window.location.href);
  if (url.searchParams.has("lang")) {
    url.searchParams.set("lang", lang);
    window.history.replaceState(window.history.state, "", url);
  }
  await apply(lang);
}
