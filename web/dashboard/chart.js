// An hourly bar chart of lead clicks and bot visits, drawn as inline SVG.
// It redraws at the width it is given, so text stays legible on a phone.

import {h, s, plural} from "./ui.js";

const HOUR = 3600 * 1000;
const HOURS = 48;
const HEIGHT = 180;
const PAD = {left: 34, right: 6, top: 10, bottom: 26};

let ids = 0;

// buckets turns the API's points (empty hours omitted) into one bucket per
// hour of the last 48, ending with the current hour.
function buckets(points) {
  let end = Math.floor(Date.now() / HOUR) * HOUR;
  for (const p of points) end = Math.max(end, Date.parse(p.t));
  const out = [];
  for (let i = HOURS - 1; i >= 0; i--) {
    out.push({t: end - i * HOUR, clicks: 0, botClicks: 0});
  }
  const start = out[0].t;
  for (const p of points) {
    const i = Math.round((Date.parse(p.t) - start) / HOUR);
    if (i >= 0 && i < HOURS) {
      out[i].clicks += p.clicks || 0;
      out[i].botClicks += p.botClicks || 0;
    }
  }
  return out;
}

// niceMax rounds n up to 1, 2 or 5 times a power of ten.
function niceMax(n) {
  if (n <= 1) return 1;
  const p = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 2, 5, 10]) if (n <= m * p) return m * p;
  return 10 * p;
}

const hourFmt = new Intl.DateTimeFormat(undefined, {hour: "numeric"});
const dayFmt = new Intl.DateTimeFormat(undefined,
  {month: "short", day: "numeric"});
const fullFmt = new Intl.DateTimeFormat(undefined,
  {month: "short", day: "numeric", hour: "2-digit", minute: "2-digit"});

function describe(b) {
  return `${fullFmt.format(b.t)}: ${plural(b.clicks, "click", "clicks")}, ` +
    plural(b.botClicks, "bot visit", "bot visits");
}

function draw(width, data, labelId) {
  const plotW = width - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const max = niceMax(Math.max(...data.map((b) => b.clicks + b.botClicks)));
  const y = (v) => PAD.top + plotH - (v / max) * plotH;
  const step = plotW / HOURS;
  const barW = Math.max(1, step * 0.75);

  const svg = s("svg", {width, height: HEIGHT, role: "img",
    viewBox: `0 0 ${width} ${HEIGHT}`, "aria-labelledby": labelId,
    class: "chart-svg"});
  for (const v of [0, max / 2, max]) {
    if (v !== Math.round(v)) continue;
    svg.append(s("line", {class: "grid", x1: PAD.left, x2: width - PAD.right,
      y1: y(v), y2: y(v)}));
    svg.append(s("text", {class: "axis", x: PAD.left - 4, y: y(v) + 4,
      "text-anchor": "end"}, String(v)));
  }

  const every = width < 420 ? 12 : 6;
  data.forEach((b, i) => {
    const x = PAD.left + i * step + (step - barW) / 2;
    const g = s("g", {}, s("title", {}, describe(b)));
    if (b.clicks) {
      g.append(s("rect", {class: "bar-human", x, width: barW,
        y: y(b.clicks), height: y(0) - y(b.clicks)}));
    }
    if (b.botClicks) {
      const top = b.clicks + b.botClicks;
      g.append(s("rect", {class: "bar-bot", x, width: barW,
        y: y(top), height: y(b.clicks) - y(top)}));
    }
    svg.append(g);
    const d = new Date(b.t);
    if (d.getHours() % every === 0) {
      const label = d.getHours() === 0 ? dayFmt.format(d) : hourFmt.format(d);
      svg.append(s("text", {class: "axis", x: PAD.left + i * step,
        y: HEIGHT - 8, "text-anchor": "middle"}, label));
    }
  });

  if (data.every((b) => !b.clicks && !b.botClicks)) {
    svg.append(s("text", {class: "chart-empty", x: PAD.left + plotW / 2,
      y: PAD.top + plotH / 2, "text-anchor": "middle"},
    "No visits in the last 48 hours"));
  }
  return svg;
}

function dataTable(data) {
  const rows = data.filter((b) => b.clicks || b.botClicks);
  if (!rows.length) return null;
  return h("details", {class: "chart-data"},
    h("summary", {}, "Show as a table"),
    h("table", {class: "plain"},
      h("thead", {}, h("tr", {},
        h("th", {scope: "col"}, "Hour"),
        h("th", {scope: "col"}, "Clicks"),
        h("th", {scope: "col"}, "Bot visits"))),
      h("tbody", {}, rows.map((b) => h("tr", {},
        h("td", {}, fullFmt.format(b.t)),
        h("td", {}, String(b.clicks)),
        h("td", {}, String(b.botClicks)))))));
}

// hourlyChart returns a figure of series points ({t, clicks, botClicks})
// with a caption, a legend and the numbers as a table.
export function hourlyChart(points) {
  const data = buckets(points || []);
  const clicks = data.reduce((n, b) => n + b.clicks, 0);
  const bots = data.reduce((n, b) => n + b.botClicks, 0);
  const labelId = `chart-${++ids}`;
  const canvas = h("div", {class: "chart-canvas"});
  const fig = h("figure", {class: "chart"},
    h("figcaption", {id: labelId},
      "Clicks per hour, last 48 hours: ",
      plural(clicks, "click", "clicks"), ", ",
      plural(bots, "bot visit", "bot visits"), "."),
    canvas,
    h("p", {class: "legend", "aria-hidden": "true"},
      h("span", {class: "swatch human"}), "Lead clicks ",
      h("span", {class: "swatch bot"}), "Bot visits"),
    dataTable(data));

  let drawn = 0;
  const redraw = () => {
    const w = Math.floor(canvas.clientWidth);
    if (w > 0 && w !== drawn) {
      drawn = w;
      canvas.replaceChildren(draw(w, data, labelId));
    }
  };
  new ResizeObserver(redraw).observe(canvas);
  return fig;
}
