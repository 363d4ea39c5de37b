// The webhook views: endpoints with registration, test events, secret
// rotation and enabling; one endpoint's delivery log with retries.

import * as api from "./api.js";
import {h, announce, loading, empty, errorBox, when, copyButton, busy,
  cell, table, badge, field, clearErrors, showError,
  plural, pager, swap} from "./ui.js";

const enc = api.enc;
const PAGE = 25;
const EVENTS = ["lead.link_clicked", "lead.link_sent",
  "lead.message_delivered", "lead.link_delivered"];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// secretPanel shows a signing secret the one time the API returns it.
function secretPanel(slot, ep, secret, rotated) {
  const panel = h("section", {class: "card secret", tabindex: "-1",
    "aria-labelledby": "secret-title"},
  h("h2", {id: "secret-title"}, rotated ? "New signing secret" :
    "Signing secret"),
  h("p", {}, `For ${ep.url}. linkd shows it only now; store it where your ` +
    "receiver can read it."),
  rotated ? h("p", {}, "The previous secret keeps signing beside it " +
    "for 24 hours, so receivers can switch without losing events.") : null,
  h("p", {class: "secret-line"},
    h("code", {class: "secret-value", id: "secret-value"}, secret), " ",
    copyButton(secret, "Copy signing secret", "signing secret")),
  h("button", {type: "button", class: "quiet",
    onclick: () => slot.replaceChildren()}, "I have stored it; hide it"));
  slot.replaceChildren(panel);
  panel.focus();
}

function statusOf(ep) {
  if (!ep.disabled) return badge("enabled", "ok");
  return [badge("disabled", "warn"), ep.disabledReason ?
    h("span", {class: "muted block"}, ep.disabledReason) : null];
}

// actions are an endpoint's buttons; onChange gets the changed endpoint,
// onTest the id of a test delivery.
function actions(ep, {slot, onChange, onTest, withLog}) {
  const button = (label, aria, fn, action) => {
    const b = h("button", {type: "button", class: "small",
      "aria-label": aria, "data-action": action}, label);
    b.addEventListener("click", () => busy(b, async () => {
      try {
        await fn();
      } catch (err) {
        announce(err.message, "error");
      }
    }));
    return b;
  };
  const base = `/webhooks/${enc(ep.id)}`;
  return h("div", {class: "actions"},
    withLog ? h("a", {href: `#${base}`, class: "button small",
      "aria-label": `Deliveries of ${ep.url}`}, "Deliveries") : null,
    button("Send test", `Send a test event to ${ep.url}`, async () => {
      const {deliveryId} = await api.api("POST", base + "/test");
      announce("Test event queued.", "ok");
      onTest(deliveryId);
    }, "test"),
    button("Rotate secret", `Rotate the signing secret of ${ep.url}`,
      async () => {
        const {secret} = await api.api("POST", base + "/rotate-secret");
        secretPanel(slot, ep, secret, true);
        announce("Secret rotated; copy the new one now.", "ok");
      }, "rotate"),
    button(ep.disabled ? "Enable" : "Disable",
      `${ep.disabled ? "Enable" : "Disable"} ${ep.url}`, async () => {
        const changed = await api.api("PATCH", base,
          {disabled: !ep.disabled});
        announce(`Endpoint ${changed.disabled ? "disabled" : "enabled"}.`,
          "ok");
        onChange(changed);
      }, "toggle"));
}

function registerForm(session, slot, onCreated) {
  const form = h("form", {id: "register-webhook", novalidate: true,
    "aria-labelledby": "register-title"},
  h("h2", {id: "register-title"}, "Register an endpoint"),
  h("p", {class: "form-error", role: "alert", tabindex: "-1"}),
  h("div", {class: "grid"},
    field("hook", "url", "Endpoint URL", {inputmode: "url",
      placeholder: "https://hooks.example.com/linkd", autocomplete: "off"}),
    field("hook", "campaignId", "Campaign", {list: "hook-campaigns",
      autocomplete: "off"}, session.admin ?
      "Leave empty to receive every campaign's events." :
      "One of your key's campaigns."),
    field("hook", "description", "Description (optional)",
      {autocomplete: "off"})),
  h("datalist", {id: "hook-campaigns"},
    session.campaigns.map((c) => h("option", {value: c.campaignId}))),
  h("fieldset", {class: "events", "aria-describedby": "hook-events-error"},
    h("legend", {}, "Events"),
    EVENTS.map((e) => h("label", {class: "check"},
      h("input", {type: "checkbox", name: "events", value: e,
        checked: true}), " ", e)),
    h("p", {class: "field-error", id: "hook-events-error",
      "data-for": "events"})),
  h("button", {type: "submit", class: "primary"}, "Register endpoint"));

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const f = form.elements;
    const events = [...form.querySelectorAll("input[name=events]:checked")]
      .map((i) => i.value);
    if (!events.length) {
      showError(form, {field: "events", message: "Choose at least one event."});
      return;
    }
    const body = {url: f.url.value.trim(), events,
      description: f.description.value.trim()};
    if (f.campaignId.value.trim()) body.campaignId = f.campaignId.value.trim();
    await busy(form.querySelector("button[type=submit]"), async () => {
      try {
        const ep = await api.api("POST", "/webhooks", body);
        f.url.value = "";
        f.description.value = "";
        secretPanel(slot, ep, ep.secret, false);
        announce("Endpoint registered; copy its secret now.", "ok");
        onCreated(ep);
      } catch (err) {
        showError(form, err);
        announce(`The endpoint was not registered: ${err.message}`, "error");
      }
    });
  });
  return h("section", {class: "card"}, form);
}

function endpointRow(ep, ctx) {
  const row = h("tr", {"data-endpoint": ep.id},
    cell("URL", h("a", {href: `#/webhooks/${enc(ep.id)}`, class: "url"},
      ep.url), ep.description ? h("span", {class: "muted block"},
      ep.description) : null),
    cell("Campaign", ep.campaignId || h("em", {}, "every campaign")),
    cell("Events", h("ul", {class: "tags"},
      (ep.events || []).map((e) => h("li", {}, e)))),
    cell("Status", statusOf(ep)),
    cell("Created", when(ep.createdAt)),
    cell("Actions", actions(ep, {slot: ctx.slot, withLog: true,
      onChange: (changed) => swap(row, [endpointRow(changed, ctx)],
        "[data-action=toggle]"),
      onTest: () => announce("Test event queued; open Deliveries to see " +
        "it arrive.", "ok")})));
  return row;
}

export async function webhooksView(root, {session}) {
  const slot = h("div", {class: "secret-slot"});
  const list = h("div", {}, loading("endpoints"));
  const load = async () => {
    let webhooks;
    try {
      ({webhooks} = await api.get("/webhooks"));
    } catch (err) {
      list.replaceChildren(errorBox(err, "the endpoints"));
      return;
    }
    if (!webhooks.length) {
      list.replaceChildren(empty("No endpoints yet. Register one above " +
        "to receive signed events."));
      return;
    }
    const {el, tbody} = table(plural(webhooks.length, "endpoint",
      "endpoints"), ["URL", "Campaign", "Events", "Status", "Created",
      "Actions"], "endpoints");
    tbody.append(...webhooks.map((ep) => endpointRow(ep, {slot})));
    list.replaceChildren(h("div", {class: "table-wrap"}, el));
  };
  root.append(h("h1", {}, "Webhooks"),
    registerForm(session, slot, load), slot,
    h("section", {class: "card", "aria-labelledby": "endpoints-title"},
      h("h2", {id: "endpoints-title"}, "Endpoints"), list));
  load();
}

const statusWords = {pending: ["pending", "warn"],
  succeeded: ["succeeded", "ok"], dead: ["dead: gave up", "bad"]};

function outcome(d) {
  if (d.status === "succeeded") {
    return `Delivered${d.lastStatusCode ? ` (status ${d.lastStatusCode})` :
      ""}.`;
  }
  const why = d.lastStatusCode ? `the endpoint answered ${d.lastStatusCode}` :
    d.lastError || "no answer";
  return d.status === "dead" ? `Given up: ${why}.` :
    `Attempt failed: ${why}. linkd will retry.`;
}

// settle polls a delivery until an attempt beyond attempts is logged.
async function settle(path, attempts) {
  let d = null;
  for (let i = 0, wait = 150; i < 25; i++, wait = Math.min(wait * 1.5, 1500)) {
    await sleep(wait);
    d = await api.get(path);
    if (d.attempts > attempts) return d;
  }
  return d;
}

function attemptLog(d) {
  const log = d.attemptLog || [];
  if (!log.length) return empty("No attempt yet.");
  return h("table", {class: "plain"},
    h("caption", {}, "Attempts"),
    h("thead", {}, h("tr", {}, ["#", "At", "Status", "Error", "Took"]
      .map((c) => h("th", {scope: "col"}, c)))),
    h("tbody", {}, log.map((a) => h("tr", {},
      h("td", {}, String(a.n)), h("td", {}, when(a.at)),
      h("td", {}, a.statusCode ? String(a.statusCode) : "—"),
      h("td", {class: "agent"}, a.error || "—"),
      h("td", {}, `${Math.round((a.duration || 0) / 1e6)} ms`)))));
}

function deliveryRow(d, ctx) {
  const base = `/webhooks/${enc(ctx.id)}/deliveries/${enc(d.id)}`;
  const detailId = `attempts-${d.id}`;
  const detail = h("tr", {class: "attempts", id: detailId, hidden: true},
    h("td", {colspan: 8}));
  const more = h("button", {type: "button", class: "small",
    "aria-expanded": "false", "aria-controls": detailId,
    "aria-label": `Attempts of ${d.eventType} ${d.id}`}, "Attempts");
  more.addEventListener("click", () => busy(more, async () => {
    const open = more.getAttribute("aria-expanded") === "true";
    more.setAttribute("aria-expanded", String(!open));
    detail.hidden = open;
    if (open) return;
    detail.firstChild.replaceChildren(loading("attempts"));
    try {
      detail.firstChild.replaceChildren(attemptLog(await api.get(base)));
    } catch (err) {
      detail.firstChild.replaceChildren(errorBox(err, "the attempts"));
    }
  }));
  const retry = d.status === "succeeded" ? null :
    h("button", {type: "button", class: "small", "data-action": "retry",
      "aria-label": `Retry ${d.eventType} ${d.id}`}, "Retry");
  retry?.addEventListener("click", () => busy(retry, async () => {
    try {
      await api.api("POST", base + "/retry");
      announce("Retrying now…");
      const after = await settle(base, d.attempts);
      detail.remove();
      swap(row, deliveryRow(after, ctx), "button[aria-controls]");
      announce(outcome(after), after.status === "succeeded" ? "ok" : "error");
    } catch (err) {
      announce(`Retry failed: ${err.message}`, "error");
    }
  }));
  const [word, kind] = statusWords[d.status] || [d.status, "muted"];
  const row = h("tr", {"data-delivery": d.id, "data-status": d.status},
    cell("Created", when(d.createdAt)),
    cell("Event", h("span", {class: "nowrap"}, d.eventType),
      h("span", {class: "muted block mono"}, d.eventId)),
    cell("Status", badge(word, kind)),
    cell("Attempts", String(d.attempts)),
    cell("Last answer", h("span", {"data-last-status": ""},
      d.lastStatusCode ? String(d.lastStatusCode) : "—")),
    cell("Last error", h("span", {class: "agent"}, d.lastError || "—")),
    cell(d.status === "pending" ? "Next attempt" : "Delivered",
      when(d.status === "pending" ? d.nextAttemptAt : d.deliveredAt)),
    cell("Actions", h("div", {class: "actions"}, more, retry)));
  return [row, detail];
}

function deliveryLog(id) {
  const filter = h("select", {id: "delivery-status", name: "status"},
    h("option", {value: ""}, "All"),
    h("option", {value: "pending"}, "Pending"),
    h("option", {value: "succeeded"}, "Succeeded"),
    h("option", {value: "dead"}, "Dead"));
  const refresh = h("button", {type: "button"}, "Refresh");
  const results = h("div", {});
  let cursors = [""];
  let page = 0;
  let nextCursor = "";
  let load;
  const pages = pager("deliveries", () => { page--; load(); }, () => {
    cursors[page + 1] = nextCursor;
    page++;
    load();
  });

  load = async () => {
    results.setAttribute("aria-busy", "true");
    let resp;
    try {
      resp = await api.get(`/webhooks/${enc(id)}/deliveries` + api.query({
        status: filter.value, limit: PAGE, cursor: cursors[page]}));
    } catch (err) {
      results.replaceChildren(errorBox(err, "the deliveries"));
      return;
    } finally {
      results.removeAttribute("aria-busy");
    }
    nextCursor = resp.nextCursor || "";
    const ds = resp.deliveries || [];
    if (!ds.length) {
      results.replaceChildren(empty(filter.value ?
        `No ${filter.value} deliveries.` :
        "No deliveries yet. Send a test event to see one."));
      return;
    }
    pages.update(page, !!nextCursor);
    const {el, tbody} = table(plural(ds.length, "delivery", "deliveries") +
      ", newest first", ["Created", "Event", "Status", "Attempts",
      "Last answer", "Last error", "Next attempt / delivered", "Actions"],
    "deliveries");
    tbody.append(...ds.flatMap((d) => deliveryRow(d, {id})));
    results.replaceChildren(h("div", {class: "table-wrap"}, el), pages.el);
  };
  const restart = () => { cursors = [""]; page = 0; load(); };
  filter.addEventListener("change", restart);
  refresh.addEventListener("click", () => busy(refresh, load));

  const el = h("section", {class: "card", "aria-labelledby": "log-title"},
    h("h2", {id: "log-title"}, "Delivery log"),
    h("div", {class: "toolbar"},
      h("label", {for: "delivery-status"}, "Status"), filter, refresh),
    results);
  results.append(loading("deliveries"));
  load();
  return {el, load: restart};
}

export async function endpointView(root, {arg: id}) {
  const base = `/webhooks/${enc(id)}`;
  const slot = h("div", {class: "secret-slot"});
  const facts = h("div", {}, loading("the endpoint"));
  const head = h("h1", {}, "Endpoint");
  root.append(
    h("nav", {class: "crumbs", "aria-label": "Breadcrumb"},
      h("a", {href: "#/webhooks"}, "Webhooks"), " / ", id),
    head, h("section", {class: "card", "aria-label": "Endpoint"}, facts),
    slot);

  let ep;
  try {
    ep = await api.get(base);
  } catch (err) {
    facts.replaceChildren(errorBox(err, "the endpoint"));
    return;
  }
  head.textContent = `Endpoint ${ep.description || ep.url}`;
  document.title = `${head.textContent} · linkd`;
  const log = deliveryLog(id);
  const render = (e) => {
    ep = e;
    const had = facts.contains(document.activeElement);
    const items = [["URL", h("span", {class: "url"}, ep.url)],
      ["Campaign", ep.campaignId || "every campaign"],
      ["Events", (ep.events || []).join(", ")],
      ["Description", ep.description || "—"],
      ["Status", statusOf(ep)], ["Created", when(ep.createdAt)]];
    facts.replaceChildren(
      h("dl", {class: "facts"}, items.map(([k, v]) =>
        h("div", {}, h("dt", {}, k), h("dd", {}, v)))),
      actions(ep, {slot, onChange: render, onTest: async (did) => {
        log.load();
        try {
          const d = await settle(`${base}/deliveries/${enc(did)}`, 0);
          log.load();
          announce(`Test event: ${outcome(d)}`,
            d.status === "succeeded" ? "ok" : "error");
        } catch (err) {
          announce(err.message, "error");
        }
      }}));
    if (had) facts.querySelector("[data-action=toggle]")?.focus();
  };
  render(ep);
  root.append(log.el);
}
