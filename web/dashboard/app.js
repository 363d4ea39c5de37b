// The dashboard's entry: sign-in, the session's scope, and the hash
// router that shows one view at a time in <main>.

import * as api from "./api.js";
import {h, announce, quiet, revokeObjectURLs, field, clearErrors,
  showError, busy} from "./ui.js";
import {campaignsView} from "./campaigns.js";
import {linksView, linkView} from "./links.js";
import {webhooksView, endpointView} from "./webhooks.js";

const main = document.getElementById("main");

// session is what the signed-in token may see: admin or not, and the
// campaigns with data in its scope.
const session = {admin: false, campaigns: []};

const routes = [
  [/^#\/campaigns$/, "campaigns", campaignsView],
  [/^#\/links\/([^/?]+)$/, "links", linkView],
  [/^#\/links(?:\?.*)?$/, "links", linksView],
  [/^#\/webhooks\/([^/?]+)$/, "webhooks", endpointView],
  [/^#\/webhooks$/, "webhooks", webhooksView],
];

// show renders the view the location's hash names.
function show() {
  if (!api.token()) {
    signInView();
    return;
  }
  const hash = location.hash || "#/campaigns";
  let found = null;
  for (const [re, section, view] of routes) {
    const m = hash.match(re);
    if (m) {
      found = {section, view, arg: m[1] && decodeURIComponent(m[1])};
      break;
    }
  }
  if (!found) {
    location.replace("#/campaigns");
    return;
  }
  for (const a of document.querySelectorAll("#nav a")) {
    if (a.dataset.section === found.section) {
      a.setAttribute("aria-current", "page");
    } else {
      a.removeAttribute("aria-current");
    }
  }
  revokeObjectURLs();
  quiet();
  const params = new URLSearchParams(hash.split("?")[1] || "");
  const root = h("div", {class: "view"});
  main.replaceChildren(root);
  found.view(root, {session, arg: found.arg, params});
  const h1 = root.querySelector("h1");
  if (h1) document.title = h1.textContent + " · linkd";
}

// focusHeading moves focus to the new view's heading after navigation, so
// screen readers start reading there.
function focusHeading() {
  const h1 = main.querySelector("h1");
  if (h1) {
    h1.setAttribute("tabindex", "-1");
    h1.focus();
  }
}

function signInView(message) {
  document.getElementById("nav").hidden = true;
  document.getElementById("session").hidden = true;
  document.title = "Sign in · linkd";
  const form = h("form", {id: "sign-in", class: "card narrow",
    novalidate: true, "aria-labelledby": "sign-in-title"},
    h("h1", {id: "sign-in-title"}, "Sign in"),
    h("p", {class: "form-error", role: "alert", tabindex: "-1"},
      message || ""),
    field("sign-in", "token", "Admin token or campaign key", {
      type: "password", autocomplete: "off", spellcheck: "false",
      required: true, autofocus: true},
    "Kept in this browser tab only; closing the tab signs you out."),
    h("button", {type: "submit", class: "primary"}, "Sign in"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const t = form.elements.token.value.trim();
    if (!t) {
      showError(form, {field: "token", message: "Enter a token or key."});
      return;
    }
    await busy(form.querySelector("button"), () => signIn(form, t));
  });
  main.replaceChildren(h("div", {class: "view"}, form));
  form.elements.token.focus();
}

async function signIn(form, t) {
  api.setToken(t);
  try {
    await loadSession();
  } catch (err) {
    api.clearToken();
    showError(form, {field: "token", message: err.status === 401 ?
      "That token or key was not accepted. Check it and try again." :
      err.message});
    return;
  }
  if (!location.hash || location.hash === "#/") {
    history.replaceState(null, "", "#/campaigns");
  }
  show();
  focusHeading();
  announce("Signed in.", "ok");
}

// loadSession learns the token's scope. GET /keys is the admin's alone:
// a campaign key is refused it with 403.
async function loadSession() {
  const {campaigns} = await api.get("/campaigns");
  session.campaigns = campaigns || [];
  try {
    await api.get("/keys");
    session.admin = true;
  } catch (err) {
    if (err.status !== 403 && err.status !== 404) throw err;
    session.admin = err.status === 404;
  }
  const who = document.getElementById("who");
  who.textContent = session.admin ? "Signed in as admin" :
    "Campaign key: " + (session.campaigns.map((c) => c.campaignId)
      .join(", ") || "no campaign with data yet");
  document.getElementById("nav").hidden = false;
  document.getElementById("session").hidden = false;
}

function signOut(message) {
  api.clearToken();
  session.admin = false;
  session.campaigns = [];
  revokeObjectURLs();
  signInView(message);
}

async function boot() {
  api.whenUnauthorized(() => signOut(
    "Your token is no longer accepted. Sign in again."));
  document.getElementById("sign-out").addEventListener("click", () => {
    signOut();
    announce("Signed out.");
  });
  window.addEventListener("hashchange", () => {
    show();
    focusHeading();
  });
  if (!api.token()) {
    signInView();
    return;
  }
  try {
    await loadSession();
  } catch (err) {
    if (err.status !== 401) {
      main.replaceChildren(h("div", {class: "error-box", role: "alert"},
        h("p", {}, err.message),
        h("p", {}, h("button", {type: "button",
          onclick: () => location.reload()}, "Try again"))));
    }
    return;
  }
  show();
}

boot();
