// The dashboard's only way to linkd: the same /api/v1 API any client uses,
// with the signed-in token as a bearer header. The token lives in this
// tab's sessionStorage and nowhere else.

const TOKEN = "linkd.token";

export function token() {
  return sessionStorage.getItem(TOKEN);
}

export function setToken(t) {
  sessionStorage.setItem(TOKEN, t);
}

export function clearToken() {
  sessionStorage.removeItem(TOKEN);
}

// APIError is a failed call, with the API's code, message and field.
export class APIError extends Error {
  constructor(status, code, message, field = "") {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

let onUnauthorized = () => {};

// whenUnauthorized sets what happens when the token stops being accepted.
export function whenUnauthorized(fn) {
  onUnauthorized = fn;
}

function wordsFor(status) {
  if (status === 401) return "The token was not accepted. Sign in again.";
  if (status === 403) return "This key may not do that.";
  if (status === 404) {
    return "Not found. It may have been deleted, or your key cannot see it.";
  }
  if (status >= 500) {
    return `linkd had a problem on its side (status ${status}). ` +
      "Try again; if it keeps happening, check linkd's log.";
  }
  return `The request was refused (status ${status}).`;
}

async function send(method, path, body, accept) {
  const headers = {Authorization: "Bearer " + token(), Accept: accept};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let resp;
  try {
    resp = await fetch("/api/v1" + path, {method, headers, cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body)});
  } catch (_) {
    throw new APIError(0, "network",
      "linkd could not be reached. Check that it is running and try again.");
  }
  if (resp.ok) return resp;

  let detail = {};
  try {
    detail = (await resp.json()).error || {};
  } catch (_) { /* not the API's error shape */ }
  const err = new APIError(resp.status, detail.code || `http_${resp.status}`,
    detail.message || wordsFor(resp.status), detail.field || "");
  if (resp.status === 401) onUnauthorized(err);
  throw err;
}

// api calls the JSON API and returns the decoded answer (null for 204).
export async function api(method, path, body) {
  const resp = await send(method, path, body, "application/json");
  if (resp.status === 204) return null;
  return resp.json();
}

export const get = (path) => api("GET", path);

// blob fetches binary content, such as a QR code image.
export async function blob(path) {
  return (await send("GET", path, undefined, "image/png")).blob();
}

// query builds a query string from the set values of params.
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") q.set(k, v);
  }
  const s = q.toString();
  return s ? "?" + s : "";
}

export const enc = encodeURIComponent;
