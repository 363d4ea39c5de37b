// The campaigns view: per campaign, the funnel from sent to clicked, the
// clicks of the last 48 hours, and bot visits beside lead clicks.

import {get, enc} from "./api.js";
import {h, loading, empty, errorBox, plural} from "./ui.js";
import {hourlyChart} from "./chart.js";

const PAGE = 10;

function rate(n, of) {
  if (!of) return "—";
  const r = (100 * n) / of;
  return (r >= 10 || r === 0 ? r.toFixed(0) : r.toFixed(1)) + "%";
}

// funnel shows sent → delivered → clicked, each step's bar as wide as its
// share of the messages sent.
function funnel(c) {
  const steps = [
    ["Sent", c.messagesSent, "messages reported sent", null],
    ["Delivered", c.messagesDelivered, "delivery receipts",
      rate(c.messagesDelivered, c.messagesSent) + " of sent"],
    ["Clicked", c.leadsClicked, "leads who clicked",
      rate(c.leadsClicked, c.messagesDelivered) + " of delivered"],
  ];
  const top = Math.max(1, ...steps.map((st) => st[1] || 0));
  return h("ol", {class: "funnel", "aria-label": "Funnel"},
    steps.map(([name, n, what, r]) => {
      const bar = h("span", {class: "funnel-bar"});
      bar.style.width = `${Math.max(2, (100 * (n || 0)) / top)}%`;
      return h("li", {},
        h("span", {class: "funnel-name"}, name),
        h("span", {class: "funnel-count"}, (n || 0).toLocaleString(),
          h("span", {class: "visually-hidden"}, " " + what)),
        h("span", {class: "funnel-track", "aria-hidden": "true"}, bar),
        h("span", {class: "funnel-rate"}, r || ""));
    }));
}

function funnelNote(c) {
  if (c.messagesSent) return null;
  return h("p", {class: "funnel-note"}, "No message of this campaign was " +
    "reported sent yet; the funnel fills as the SMS platform reports them.");
}

function counters(c) {
  const item = (n, label) => h("div", {},
    h("dt", {}, label), h("dd", {}, (n || 0).toLocaleString()));
  return h("dl", {class: "counters"},
    item(c.clicks, "Lead clicks"),
    item(c.botClicks, "Bot visits"),
    item(c.events, "Click events"),
    item(c.links, "Links"));
}

function card(c) {
  const id = `campaign-${c.campaignId}`;
  const chart = h("div", {class: "chart-slot"}, loading("clicks"));
  const el = h("section", {class: "card campaign", "aria-labelledby": id,
    "data-campaign": c.campaignId},
  h("div", {class: "card-head"},
    h("h2", {id}, c.campaignId),
    h("a", {href: "#/links?campaignId=" + enc(c.campaignId)},
      "Links", h("span", {class: "visually-hidden"},
        " of " + c.campaignId))),
  h("div", {class: "campaign-body"},
    h("div", {}, funnel(c), funnelNote(c), counters(c)),
    chart));
  get(`/campaigns/${enc(c.campaignId)}/series`).then(
    (s) => chart.replaceChildren(hourlyChart(s.points)),
    (err) => chart.replaceChildren(errorBox(err, "the clicks chart")));
  return el;
}

export async function campaignsView(root, {session}) {
  const list = h("div", {class: "campaigns"}, loading("campaigns"));
  root.append(h("h1", {}, "Campaigns"), list);
  let campaigns;
  try {
    ({campaigns} = await get("/campaigns"));
  } catch (err) {
    list.replaceChildren(errorBox(err, "the campaigns"));
    return;
  }
  session.campaigns = campaigns || [];
  if (!session.campaigns.length) {
    list.replaceChildren(empty(session.admin ?
      "No campaign has data yet. Create a link on the Links page and " +
      "its campaign appears here." :
      "None of your key's campaigns has data yet."));
    return;
  }

  let shown = 0;
  const more = h("button", {type: "button", class: "quiet"});
  const next = () => {
    const page = session.campaigns.slice(shown, shown + PAGE);
    shown += page.length;
    more.before(...page.map(card));
    const left = session.campaigns.length - shown;
    more.hidden = left <= 0;
    more.textContent = `Show ${plural(Math.min(left, PAGE), "more campaign",
      "more campaigns")}`;
  };
  more.addEventListener("click", next);
  list.replaceChildren(h("p", {class: "muted"},
    plural(session.campaigns.length, "campaign", "campaigns")), more);
  next();
}
