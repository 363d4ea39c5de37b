// The links views: the searchable, paged table with the create form, and
// one link's detail with its clicks and last visits.

import * as api from "./api.js";
import {h, announce, loading, empty, errorBox, when, copyButton, busy,
  objectURL, cell, table, badge, safeHref, field, clearErrors,
  showError, plural, pager, swap} from "./ui.js";
import {hourlyChart} from "./chart.js";

const PAGE = 25;
const enc = api.enc;

// reasons says in words why a visit was not counted as a lead's click.
const reasons = {
  head: "HEAD request: no browser sends one to follow a link",
  prefetch: "Prefetch: fetched ahead of a tap, not by one",
  no_user_agent: "No User-Agent: browsers always send one",
  link_preview: "Link preview: a messaging or social app built a preview",
  crawler: "Crawler, scanner or other robot",
  http_library: "HTTP library or command-line tool, not a browser",
  bare_mozilla: "Names Mozilla but no browser, as bots do",
  link_gone: "The link was disabled or expired at the time",
};

function verdict(v) {
  if (!v.reason) return "Counted as a lead's click";
  return reasons[v.reason] || `Not counted: ${v.reason}`;
}

function campaignList(session) {
  return h("datalist", {id: "campaign-ids"},
    session.campaigns.map((c) => h("option", {value: c.campaignId})));
}

// destination shows a link's destination as a link when it is http(s).
function destination(url) {
  const href = safeHref(url);
  const text = h("span", {class: "url"}, url);
  return href ? h("a", {href, rel: "noopener noreferrer", target: "_blank",
    class: "url", title: url}, url) : text;
}

function lead(l) {
  return [h("span", {class: "nowrap"}, l.phone),
    l.externalLeadId ? h("span", {class: "muted block"},
      l.externalLeadId) : null];
}

// qrDialog shows a link's QR code, fetched with the bearer header; its
// show(link, opener) opens it and gives focus back to opener on close.
function qrDialog() {
  const img = h("img", {class: "qr", width: 240, height: 240, alt: ""});
  const title = h("h2", {id: "qr-title"});
  const save = h("a", {class: "button", download: ""}, "Download PNG");
  const close = h("button", {type: "button"}, "Close");
  const dialog = h("dialog", {class: "qr-dialog",
    "aria-labelledby": "qr-title"}, title, img,
  h("div", {class: "actions"}, save, close));
  close.addEventListener("click", () => dialog.close());
  const show = async (l, opener) => {
    try {
      const u = objectURL(await api.blob(`/links/${enc(l.code)}/qr.png`));
      title.textContent = `QR code of ${l.code}`;
      img.src = u;
      img.alt = `QR code of ${l.shortUrl}`;
      save.href = u;
      save.download = `${l.code}.png`;
      dialog.showModal();
      dialog.addEventListener("close", () => opener.focus(), {once: true});
    } catch (err) {
      announce(`Could not load the QR code: ${err.message}`, "error");
    }
  };
  return {el: dialog, show};
}

// toggle disables or enables a link and returns the changed link.
async function toggle(l) {
  const changed = await api.api("PATCH", `/links/${enc(l.code)}`,
    {disabled: !l.disabled});
  announce(`${l.code} ${changed.disabled ? "disabled" : "enabled"}.`, "ok");
  return changed;
}

function linkRow(l, ctx) {
  const actions = h("div", {class: "actions"});
  const qr = h("button", {type: "button", class: "small",
    "aria-label": `QR code of ${l.code}`}, "QR");
  qr.addEventListener("click", () => ctx.dialog.show(l, qr));
  actions.append(qr);
  if (ctx.session.admin) {
    const b = h("button", {type: "button", class: "small",
      "data-action": "toggle",
      "aria-label": `${l.disabled ? "Enable" : "Disable"} ${l.code}`},
    l.disabled ? "Enable" : "Disable");
    b.addEventListener("click", () => busy(b, async () => {
      try {
        const changed = await toggle(l);
        swap(row, [linkRow({...l, ...changed}, ctx)],
          "[data-action=toggle]");
      } catch (err) {
        announce(err.message, "error");
      }
    }));
    actions.append(b);
  }
  const row = h("tr", {"data-code": l.code},
    cell("Code", h("a", {href: `#/links/${enc(l.code)}`, class: "code"},
      l.code), l.disabled ? badge("disabled", "warn") : null),
    cell("Short URL", h("span", {class: "url"}, l.shortUrl), " ",
      copyButton(l.shortUrl, `Copy short URL of ${l.code}`, "short URL")),
    cell("Destination", destination(l.url)),
    cell("Lead", lead(l)),
    cell("Clicks", h("span", {class: "num", "data-clicks": ""},
      String(l.clicks ?? "—"))),
    cell("Events", h("span", {class: "num"}, String(l.events ?? "—"))),
    cell("Created", when(l.createdAt)),
    cell("Actions", actions));
  return row;
}

// createForm is the admin's form for one link; API errors show beside
// the field they name.
function createForm(session, onCreated) {
  const result = h("div", {class: "created"});
  const form = h("form", {id: "create-link", novalidate: true,
    "aria-labelledby": "create-link-title"},
  h("p", {class: "form-error", role: "alert", tabindex: "-1"}),
  h("div", {class: "grid"},
    field("link", "url", "Destination URL", {inputmode: "url",
      placeholder: "https://example.com/offer", autocomplete: "off"}),
    field("link", "campaignId", "Campaign", {list: "campaign-ids",
      autocomplete: "off"}),
    field("link", "phone", "Lead phone", {type: "tel",
      placeholder: "+15550100001", autocomplete: "off"}, "E.164, with +"),
    field("link", "externalLeadId", "External lead id (optional)",
      {autocomplete: "off"}),
    field("link", "code", "Custom code (optional)", {autocomplete: "off"},
      "3 to 64 of A–Z a–z 0–9 _ -"),
    field("link", "expiresAt", "Expires (optional)",
      {type: "datetime-local"})),
  campaignList(session),
  h("button", {type: "submit", class: "primary"}, "Create link"),
  result);

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    result.replaceChildren();
    const f = form.elements;
    const body = {url: f.url.value.trim(), campaignId: f.campaignId.value.trim(),
      phone: f.phone.value.trim(), externalLeadId: f.externalLeadId.value.trim(),
      code: f.code.value.trim()};
    if (f.expiresAt.value) {
      body.expiresAt = new Date(f.expiresAt.value).toISOString();
    }
    await busy(form.querySelector("button[type=submit]"), async () => {
      try {
        const l = await api.api("POST", "/links", body);
        for (const n of ["url", "phone", "externalLeadId", "code",
          "expiresAt"]) f[n].value = "";
        result.replaceChildren(h("p", {}, "Created ",
          h("a", {href: `#/links/${enc(l.code)}`}, l.code), ": ",
          h("span", {class: "url"}, l.shortUrl), " ",
          copyButton(l.shortUrl, "Copy the new short URL", "short URL")));
        announce(`Created link ${l.code}.`, "ok");
        onCreated(l);
      } catch (err) {
        showError(form, err);
        announce(`The link was not created: ${err.message}`, "error");
      }
    });
  });
  // On a phone the form starts folded, so the table is in view.
  return h("details", {class: "card fold",
    open: matchMedia("(min-width: 761px)").matches},
  h("summary", {}, h("h2", {id: "create-link-title"}, "Create a link")),
  form);
}

function searchForm(filters, session) {
  const form = h("form", {id: "search-links", role: "search",
    class: "search", "aria-label": "Search links"},
  field("search", "campaignId", "Campaign", {list: "campaign-ids",
    value: filters.campaignId || "", autocomplete: "off"}),
  field("search", "phone", "Phone", {type: "tel",
    value: filters.phone || "", autocomplete: "off",
    placeholder: "+15550100001"}),
  h("div", {class: "actions"},
    h("button", {type: "submit"}, "Search"),
    h("a", {href: "#/links", class: "button quiet"}, "Clear")),
  session.admin ? null : campaignList(session));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    location.hash = "#/links" + api.query({
      campaignId: form.elements.campaignId.value.trim(),
      phone: form.elements.phone.value.trim()});
  });
  return form;
}

export function linksView(root, {session, params}) {
  const filters = {campaignId: params.get("campaignId") || "",
    phone: params.get("phone") || ""};
  const ctx = {session, dialog: qrDialog()};
  const {el: tbl, tbody} = table("Links",
    ["Code", "Short URL", "Destination", "Lead", "Clicks", "Events",
      "Created", "Actions"], "links");
  const results = h("div", {class: "results"});
  const cursors = [""];
  let page = 0;
  let nextCursor = "";
  let load;
  const pages = pager("links", () => { page--; load(); }, () => {
    cursors[page + 1] = nextCursor;
    page++;
    load();
  });

  load = async () => {
    tbl.setAttribute("aria-busy", "true");
    results.replaceChildren(loading("links"));
    let resp;
    try {
      resp = await api.get("/links" + api.query({...filters, limit: PAGE,
        cursor: cursors[page], include: "stats"}));
    } catch (err) {
      results.replaceChildren(errorBox(err, "the links"));
      return;
    } finally {
      tbl.removeAttribute("aria-busy");
    }
    nextCursor = resp.nextCursor || "";
    const links = resp.links || [];
    pages.update(page, !!nextCursor, plural(links.length, "link", "links"));
    if (!links.length) {
      const any = filters.campaignId || filters.phone;
      results.replaceChildren(empty(any ? "No link matches this search." :
        "No links yet." + (session.admin ? " Create one above." : "")));
      return;
    }
    tbody.replaceChildren(...links.map((l) => linkRow(l, ctx)));
    results.replaceChildren(h("div", {class: "table-wrap"}, tbl), pages.el);
  };

  root.append(h("h1", {}, "Links"),
    session.admin ? createForm(session, () => { page = 0; load(); }) : null,
    h("section", {class: "card", "aria-labelledby": "links-title"},
      h("h2", {id: "links-title"}, "All links"),
      searchForm(filters, session), results),
    ctx.dialog.el);
  load();
}

function summary(l, session, onChange) {
  const items = [
    ["Short URL", [h("span", {class: "url"}, l.shortUrl), " ",
      copyButton(l.shortUrl, "Copy short URL", "short URL")]],
    ["Destination", destination(l.url)],
    ["Campaign", h("a", {href: "#/links?campaignId=" + enc(l.campaignId)},
      l.campaignId)],
    ["Lead phone", l.phone],
    ["External lead id", l.externalLeadId || "—"],
    ["Created", when(l.createdAt)],
    ["Expires", l.expiresAt ? when(l.expiresAt) : "never"],
    ["Status", l.disabled ? badge("disabled", "warn") : badge("live", "ok")],
  ];
  const dl = h("dl", {class: "facts"}, items.map(([k, v]) =>
    h("div", {}, h("dt", {}, k), h("dd", {}, v))));
  if (!session.admin) return dl;
  const b = h("button", {type: "button", "data-action": "toggle"},
    l.disabled ? "Enable link" : "Disable link");
  b.addEventListener("click", () => busy(b, async () => {
    try {
      onChange(await toggle(l));
    } catch (err) {
      announce(err.message, "error");
    }
  }));
  return [dl, h("div", {class: "actions"}, b)];
}

function statsBlock(st) {
  const item = (label, v) => h("div", {}, h("dt", {}, label), h("dd", {}, v));
  return h("dl", {class: "counters"},
    item("Lead clicks", h("span", {"data-clicks": ""}, String(st.clicks))),
    item("Bot visits", String(st.botClicks)),
    item("Click events", String(st.events)),
    item("First click", when(st.firstClickAt)),
    item("Last click", when(st.lastClickAt)));
}

function visitsTable(visits) {
  if (!visits.length) return empty("No bot visit logged yet.");
  const hint = visits.every((v) => v.reason) ? h("p", {class: "muted"},
    "linkd logs the visits it did not count as a lead's click, with the " +
    "reason; lead clicks are counted above.") : null;
  const {el, tbody} = table("Last visits, newest first",
    ["When", "Verdict", "Why", "User agent"], "visits");
  tbody.append(...visits.map((v) => h("tr", {},
    cell("When", when(v.at)),
    cell("Verdict", v.reason ? badge("bot", "muted") : badge("click", "ok")),
    cell("Why", verdict(v)),
    cell("User agent", h("span", {class: "agent"},
      v.userAgent || "(none)")))));
  return [hint, h("div", {class: "table-wrap"}, el)];
}

// section loads one part of the detail page on its own, so a failing
// part says so without hiding the rest.
function section(title, what, load) {
  const id = "sec-" + title.toLowerCase().replace(/\W+/g, "-");
  const body = h("div", {}, loading(what));
  load().then((content) => body.replaceChildren(...[content].flat()),
    (err) => body.replaceChildren(errorBox(err, what)));
  return h("section", {class: "card", "aria-labelledby": id},
    h("h2", {id}, title), body);
}

export async function linkView(root, {session, arg: code}) {
  const path = `/links/${enc(code)}`;
  const head = h("h1", {}, `Link ${code}`);
  const facts = h("div", {}, loading("the link"));
  const qr = h("div", {class: "qr-slot"});
  root.append(
    h("nav", {class: "crumbs", "aria-label": "Breadcrumb"},
      h("a", {href: "#/links"}, "Links"), " / ", code),
    head, h("section", {class: "card link-summary", "aria-label": "Link"},
      facts, qr));

  let l;
  try {
    l = await api.get(path);
  } catch (err) {
    facts.replaceChildren(errorBox(err, "the link"));
    return;
  }
  const render = (link) => {
    l = link;
    const had = facts.contains(document.activeElement);
    facts.replaceChildren(...[summary(l, session, render)].flat());
    if (had) facts.querySelector("[data-action=toggle]")?.focus();
  };
  render(l);
  qr.append(loading("the QR code"));
  api.blob(path + "/qr.png").then((png) => {
    const u = objectURL(png);
    qr.replaceChildren(h("figure", {class: "qr-figure"},
      h("img", {src: u, class: "qr", width: 200, height: 200,
        alt: `QR code of ${l.shortUrl}`}),
      h("figcaption", {}, h("a", {href: u, download: `${l.code}.png`},
        "Download the QR code"))));
  }, (err) => qr.replaceChildren(errorBox(err, "the QR code")));

  root.append(
    section("Clicks", "the counters", async () => statsBlock(
      await api.get(path + "/stats"))),
    section("Clicks over time", "the clicks chart", async () =>
      hourlyChart((await api.get(path + "/series")).points)),
    section("Last visits", "the visits", async () =>
      visitsTable((await api.get(path + "/visits")).visits || [])));
}
