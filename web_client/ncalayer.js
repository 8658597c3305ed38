// NCALayer client: has the local NCALayer app sign data as a CMS.
//
// NCALayer listens on wss://127.0.0.1:13579/ (a WebSocket with its own
// certificate). We first ask the current module `kz.gov.pki.knca.basics`
// (method `sign`); an NCALayer without it gets the older
// `kz.gov.pki.knca.commonUtils` `createCMSSignatureFromBase64` request.
// NCALayer may greet with e.g. `{"result": {"version": "1.4"}}` on open: any
// message that is not shaped like a reply is ignored.
//
// Failures are TyndauError with these codes (translated as `error.<code>`):
//   ncalayer_not_running  the WebSocket did not open (not started/installed)
//   ncalayer_closed       NCALayer closed the connection before replying
//   ncalayer_cancelled    the user closed the signing dialog
//   ncalayer_error        NCALayer refused; `.message` is NCALayer's text
//   ncalayer_timeout      no reply within SIGN_TIMEOUT_MS

import { TyndauError } from "./errors.js";

export const NCALAYER_URL = "wss://127.0.0.1:13579/";
// The user picks a key and types its password: give them time.
export const SIGN_TIMEOUT_MS = 2 * 60 * 1000;
const OPEN_TIMEOUT_MS = 10 * 1000;

export const ALLOWED_STORAGES = [
  "PKCS12",
  "AKKaztokenStore",
  "AKKZIDCardStore",
  "AKEToken72KStore",
  "AKJaCartaStore",
];

const BASICS_MODULE = "kz.gov.pki.knca.basics";
const COMMON_UTILS_MODULE = "kz.gov.pki.knca.commonUtils";

export function basicsSignRequest(dataBase64, locale) {
  return {
    module: BASICS_MODULE,
    method: "sign",
    args: {
      allowedStorages: ALLOWED_STORAGES,
      format: "cms",
      data: dataBase64,
      signingParams: { decode: true, encapsulate: true, digested: false },
      signerParams: { extKeyUsageOids: [], chain: [] },
      locale,
    },
  };
}

export function commonUtilsSignRequest(dataBase64) {
  return {
    module: COMMON_UTILS_MODULE,
    method: "createCMSSignatureFromBase64",
    args: ["PKCS12", "SIGNATURE", dataBase64, true],
  };
}

const hasOwn = (obj, key) => Object.prototype.hasOwnProperty.call(obj, key);

// A reply to a request, as opposed to a greeting or a notification.
function isReply(msg) {
  return (
    msg !== null &&
    typeof msg === "object" &&
    !Array.isArray(msg) &&
    (hasOwn(msg, "status") ||
      hasOwn(msg, "code") ||
      hasOwn(msg, "responseObject") ||
      hasOwn(msg, "errorCode"))
  );
}

function replyText(msg) {
  return [msg.code, msg.errorCode, msg.message, msg.details]
    .filter((part) => typeof part === "string" || typeof part === "number")
    .join(" ");
}

function ncalayerMessage(msg) {
  for (const field of ["message", "details", "code", "errorCode"]) {
    const value = msg[field];
    if ((typeof value === "string" && value.trim()) || typeof value === "number") {
      return String(value).trim();
    }
  }
  return "NCALayer refused the request";
}

// The error says the module or method does not exist (an NCALayer too old for
// `basics`): e.g. code MODULE_NOT_FOUND, or "Module ... not found".
export function isModuleMissing(msg) {
  if (msg.status === true) return false;
  const text = replyText(msg).toLowerCase();
  return (
    /module|method/.test(text) &&
    /not[\s_-]*found|unknown|no[\s_-]*such|not[\s_-]*(available|supported|exists?|registered|loaded)|missing|unavailable|unsupported/.test(
      text,
    )
  );
}

const isCancelText = (msg) => /action\.cancel+ed/i.test(replyText(msg));

function cmsFrom(value) {
  if (Array.isArray(value)) value = value[0];
  return typeof value === "string" && value.trim() ? value.trim() : null;
}

// One WebSocket to NCALayer; requests are answered in order, one at a time.
class Connection {
  constructor(url, WebSocketImpl) {
    this.url = url;
    this.WebSocketImpl = WebSocketImpl;
    this.ws = null;
    this.pending = null; // {resolve, reject, timer}
  }

  get isOpen() {
    return this.ws !== null && this.ws.readyState === this.WebSocketImpl.OPEN;
  }

  open() {
    return new Promise((resolve, reject) => {
      let ws;
      try {
        ws = new this.WebSocketImpl(this.url);
      } catch (cause) {
        reject(new TyndauError("ncalayer_not_running", `cannot open ${this.url}`, { cause }));
        return;
      }
      this.ws = ws;
      let opened = false;
      const timer = setTimeout(() => {
        if (opened) return;
        ws.close();
        reject(new TyndauError("ncalayer_not_running", `${this.url} did not open in time`));
      }, OPEN_TIMEOUT_MS);
      ws.addEventListener("open", () => {
        opened = true;
        clearTimeout(timer);
        resolve();
      });
      ws.addEventListener("message", (event) => {
        if (this.ws === ws) this.onMessage(event);
      });
      ws.addEventListener("close", (event) => {
        clearTimeout(timer);
        if (!opened) {
          // An unreachable port, or a certificate the browser refuses.
          reject(new TyndauError("ncalayer_not_running", `${this.url} closed (${event.code})`));
        } else if (this.ws === ws) {
          this.settle(null, new TyndauError("ncalayer_closed", `closed (${event.code})`));
        }
      });
    });
  }

  onMessage(event) {
    let msg;
    try {
      msg = JSON.parse(event.data);
    } catch {
      return; // not JSON: not a reply of the protocol
    }
    if (this.pending && isReply(msg)) this.settle(msg, null);
  }

  settle(reply, error) {
    const pending = this.pending;
    if (!pending) return;
    this.pending = null;
    clearTimeout(pending.timer);
    if (error) pending.reject(error);
    else pending.resolve(reply);
  }

  async request(message, timeoutMs) {
    if (!this.isOpen) await this.open();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.settle(null, new TyndauError("ncalayer_timeout", `no reply in ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending = { resolve, reject, timer };
      try {
        this.ws.send(JSON.stringify(message));
      } catch (cause) {
        this.settle(null, new TyndauError("ncalayer_closed", "send failed", { cause }));
      }
    });
  }

  close() {
    this.settle(null, new TyndauError("ncalayer_closed", "closed by the page"));
    if (this.ws) this.ws.close();
    this.ws = null;
  }
}

function basicsResult(reply) {
  if (reply.status === true) {
    const body = reply.body && typeof reply.body === "object" ? reply.body : {};
    if (!hasOwn(body, "result") || body.result === null) {
      throw new TyndauError("ncalayer_cancelled", "the signing dialog was closed");
    }
    const cms = cmsFrom(body.result);
    if (cms) return cms;
    if (Array.isArray(body.result) && body.result.length === 0) {
      throw new TyndauError("ncalayer_cancelled", "no signature returned");
    }
    throw new TyndauError("ncalayer_error", "NCALayer returned no CMS");
  }
  if (isCancelText(reply)) throw new TyndauError("ncalayer_cancelled", ncalayerMessage(reply));
  throw new TyndauError("ncalayer_error", ncalayerMessage(reply));
}

function commonUtilsResult(reply) {
  if (String(reply.code) === "200") {
    const cms = cmsFrom(reply.responseObject);
    if (cms) return cms;
    throw new TyndauError("ncalayer_error", "NCALayer returned no CMS");
  }
  if (isCancelText(reply)) throw new TyndauError("ncalayer_cancelled", ncalayerMessage(reply));
  throw new TyndauError("ncalayer_error", ncalayerMessage(reply));
}

// The CMS (base64) NCALayer made over `dataBase64` (attached, as the server
// expects). `locale` is the language of NCALayer's dialogs: kk, ru or en.
export async function signWithNcaLayer(
  dataBase64,
  { locale = "kk", url = NCALAYER_URL, timeoutMs = SIGN_TIMEOUT_MS, WebSocketImpl = WebSocket } = {},
) {
  const connection = new Connection(url, WebSocketImpl);
  try {
    await connection.open();
    const reply = await connection.request(basicsSignRequest(dataBase64, locale), timeoutMs);
    if (!isModuleMissing(reply)) return basicsResult(reply);
    console.info("tyndau: NCALayer has no basics module; using commonUtils", reply);
    const legacy = await connection.request(commonUtilsSignRequest(dataBase64), timeoutMs);
    return commonUtilsResult(legacy);
  } finally {
    connection.close();
  }
}
