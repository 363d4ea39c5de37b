// DOM helpers shared by the views. Every piece of data reaches the page
// through textContent or an attribute, never as HTML.

const SVG = "http://www.w3.org/2000/svg";

function build(el, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") {
      el.addEventListener(k.slice(2), v);
    } else if (k === "text") {
      el.textContent = v;
    } else {
      el.setAttribute(k, v === true ? "" : String(v));
    }
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// h makes an HTML element: h("p", {class: "x"}, "text", child).
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

// s makes an SVG element.
export function s(tag, attrs, ...children) {
  return build(document.createElementNS(SVG, tag), attrs, children);
}

// announce tells screen readers (and everyone) what just happened.
export function announce(msg, kind = "info") {
  clearTimeout(announce.timer);
  const el = document.getElementById("status");
  el.textContent = "";
  el.className = "status " + kind;
  // A fresh text node makes repeated messages heard again.
  announce.timer = setTimeout(() => { el.textContent = msg; }, 50);
}

// quiet clears the status line, when another view is shown.
export function quiet() {
  clearTimeout(announce.timer);
  document.getElementById("status").textContent = "";
}

// errorBox is an error said in words, for a region that failed to load.
export function errorBox(err, what) {
  return h("div", {class: "error-box", role: "alert"},
    h("p", {}, h("strong", {}, `Could not load ${what}. `), err.message));
}

export function loading(what) {
  return h("p", {class: "loading", role: "status"}, `Loading ${what}…`);
}

export function empty(msg) {
  return h("p", {class: "empty"}, msg);
}

const dateTime = new Intl.DateTimeFormat(undefined,
  {dateStyle: "medium", timeStyle: "short"});

// when renders an RFC 3339 time in the reader's zone, or a dash.
export function when(iso) {
  if (!iso) return h("span", {class: "muted"}, "—");
  const d = new Date(iso);
  return h("time", {datetime: iso, title: d.toISOString()},
    dateTime.format(d));
}

export function plural(n, one, many) {
  return `${n.toLocaleString()} ${n === 1 ? one : many}`;
}

// copyText puts text on the clipboard, falling back to a selected
// textarea where the Clipboard API is not available (plain http).
export async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch (_) { /* fall back below */ }
  }
  const ta = h("textarea", {class: "offscreen", readonly: true});
  ta.value = text;
  document.body.append(ta);
  ta.select();
  let ok = false;
  try { ok = document.execCommand("copy"); } catch (_) { ok = false; }
  ta.remove();
  return ok;
}

// copyButton copies text and says so.
export function copyButton(text, label, what) {
  return h("button", {type: "button", class: "small", "aria-label": label,
    "data-copy": text,
    onclick: async () => {
      const ok = await copyText(text);
      announce(ok ? `Copied ${what}.` :
        `Could not copy; select the ${what} and copy it by hand.`,
        ok ? "ok" : "error");
    }}, "Copy");
}

// busy runs fn once at a time for button, so a double press sends one
// request. The button stays focusable (aria-disabled, not disabled), so
// keyboard focus is not lost while it waits.
export async function busy(button, fn) {
  if (button.getAttribute("aria-disabled") === "true") return undefined;
  button.setAttribute("aria-disabled", "true");
  button.setAttribute("aria-busy", "true");
  try {
    return await fn();
  } finally {
    button.removeAttribute("aria-disabled");
    button.removeAttribute("aria-busy");
  }
}

// swap replaces old with the new rows and moves focus to the new control
// matching sel when focus was inside old, so a keyboard user keeps place.
export function swap(old, rows, sel) {
  const had = old.contains(document.activeElement);
  old.replaceWith(...rows);
  const target = had && rows[0].querySelector(sel);
  if (target) target.focus();
}

// Object URLs of images (QR codes) live until the next page is shown.
const objectURLs = [];

export function objectURL(blob) {
  const u = URL.createObjectURL(blob);
  objectURLs.push(u);
  return u;
}

export function revokeObjectURLs() {
  for (const u of objectURLs.splice(0)) URL.revokeObjectURL(u);
}

// cell is a table cell that, on a phone, shows its column's name.
export function cell(label, ...children) {
  return h("td", {"data-label": label},
    h("div", {class: "cell"}, ...children));
}

// table makes a table with a caption and column headings.
export function table(caption, columns, cls = "") {
  const tbody = h("tbody");
  const el = h("table", {class: "data " + cls},
    h("caption", {}, caption),
    h("thead", {}, h("tr", {},
      columns.map((c) => h("th", {scope: "col"}, c)))),
    tbody);
  return {el, tbody};
}

// badge is a short status word.
export function badge(text, kind) {
  return h("span", {class: "badge " + kind}, text);
}

// safeHref returns url when it is http(s), so data cannot become script.
export function safeHref(url) {
  try {
    const u = new URL(url);
    return u.protocol === "http:" || u.protocol === "https:" ? url : null;
  } catch (_) {
    return null;
  }
}

// field is a labelled input with a place for its error beside it.
export function field(form, name, label, attrs = {}, hint = "") {
  const id = `${form}-${name}`;
  const hintId = hint ? id + "-hint" : null;
  const input = h(attrs.tag || "input", {id, name, type: "text",
    "aria-describedby": [hintId, id + "-error"].filter(Boolean).join(" "),
    ...attrs, tag: null});
  return h("div", {class: "field"},
    h("label", {for: id}, label),
    input,
    hint ? h("p", {class: "hint", id: hintId}, hint) : null,
    h("p", {class: "field-error", id: id + "-error", "data-for": name}));
}

// clearErrors removes the errors shown in form.
export function clearErrors(form) {
  for (const p of form.querySelectorAll(".field-error")) p.textContent = "";
  for (const i of form.querySelectorAll("[aria-invalid]")) {
    i.removeAttribute("aria-invalid");
  }
  const top = form.querySelector(".form-error");
  if (top) top.textContent = "";
}

// showError puts an API error beside the field it names, or at the top of
// the form when it names none, and moves focus there.
export function showError(form, err) {
  const name = err.field || "";
  let input = name ? form.elements.namedItem(name) : null;
  if (input && !(input instanceof Element)) input = input[0]; // checkboxes
  const slot = input && form.querySelector(`.field-error[data-for="${name}"]`);
  if (input && slot) {
    slot.textContent = err.message;
    input.setAttribute("aria-invalid", "true");
    input.focus();
    return;
  }
  const top = form.querySelector(".form-error");
  top.textContent = err.message;
  top.focus();
}

// pager is the previous/next control of a cursor-paged list; it hides
// itself while everything fits on one page.
export function pager(what, onPrev, onNext) {
  const prev = h("button", {type: "button",
    "aria-label": `Previous page of ${what}`, onclick: onPrev}, "Previous");
  const next = h("button", {type: "button",
    "aria-label": `Next page of ${what}`, onclick: onNext}, "Next");
  const info = h("span", {class: "muted"});
  const el = h("nav", {class: "pager", "aria-label": `Pages of ${what}`},
    prev, info, next);
  const update = (page, hasNext, text) => {
    el.hidden = page === 0 && !hasNext;
    prev.disabled = page === 0;
    next.disabled = !hasNext;
    info.textContent = `Page ${page + 1}` + (text ? ` · ${text}` : "");
  };
  return {el, update};
}
