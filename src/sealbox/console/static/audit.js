// The audit page (#/audit): this account's events through Sealbox_20261128.LookupEvents,
// newest first, with filters, paging, each event's full record, the chain's verify status of
// the events shown, and a per-minute chart of requests and errors. All API text goes in as
// text nodes; the chart is built with SVG element APIs.

import { busy, clearError, el, field, formatTime, showError, svg, table, tableWrap } from "./ui.js";

const TARGET = "Sealbox_20261128.LookupEvents";
const PAGE_SIZE = 50; // the API's most
// A page may come back short, even empty, with a NextToken (each request scans a bounded
// stretch of the log): a few more requests fill it before it is shown.
const MAX_CALLS_PER_PAGE = 8;
const COLUMNS = ["Time", "Event", "Principal", "Key", "Error", "Verified", "Record"];
const LOCAL_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/;
const CHART_NAME = "Requests and errors per minute";
const HATCH_ID = "audit-errors-hatch";
const MIN_MINUTES = 10; // the time axis spans at least this many, so one busy minute reads as such

/** "2026-11-29T04:05" (a datetime-local value, read as UTC) -> seconds since the epoch; an
 * end time without seconds covers its whole minute. */
export function toEpoch(value, label, end = false) {
  const withSeconds = value.length > 16;
  const millis = Date.parse(`${value}${withSeconds ? "" : ":00"}Z`);
  if (!LOCAL_TIME.test(value) || Number.isNaN(millis)) throw new Error(`${label} is not a date and time: ${value}`);
  return Math.floor(millis / 1000) + (end && !withSeconds ? 59 : 0);
}

/** The LookupEvents request for the filters: the first filled-in attribute only. */
export function lookupRequest(filters) {
  const request = {};
  const attributes = [
    ["EventName", filters.name],
    ["ResourceName", filters.key],
    ["Username", filters.principal],
  ].filter(([, value]) => value);
  if (attributes.length) {
    request.LookupAttributes = [{ AttributeKey: attributes[0][0], AttributeValue: attributes[0][1] }];
  }
  if (filters.from) request.StartTime = toEpoch(filters.from, "From");
  if (filters.to) request.EndTime = toEpoch(filters.to, "To", true);
  return request;
}

function keyId(arn) {
  const at = arn.indexOf(":key/");
  return at < 0 ? arn : arn.slice(at + 5);
}

/** CamelCase text with a line-break opportunity (<wbr>) before each inner word, so a long
 * operation or error name wraps in a narrow column instead of widening the table. */
function camelWrap(text) {
  if (!text) return "—";
  return text.split(/(?<=[a-z])(?=[A-Z])/).flatMap((word, i) => (i ? [el("wbr"), word] : [word]));
}

/** An IAM ARN without its constant prefix ("user/alice", "root"); a service as it is. */
export function principalText(arn) {
  const match = /^arn:[^:]+:iam::\d+:(.+)$/.exec(arn || "");
  return match ? match[1] : arn || "—";
}

function keysCell(resources) {
  const keys = (resources || []).filter((r) => r && r.ResourceName);
  if (!keys.length) return "—";
  return keys.map((r) =>
    r.ResourceType === "AWS::KMS::Key"
      ? el("a", { href: `#/keys/${encodeURIComponent(keyId(r.ResourceName))}`, class: "mono" }, keyId(r.ResourceName))
      : el("span", { class: "mono" }, r.ResourceName),
  );
}

function prettyRecord(text) {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return String(text ?? "");
  }
}

function detailRow(event) {
  const name = `Event ${event.EventId}`;
  const verified = event.Verified
    ? "Verified: the record's MAC checks out in its chain."
    : "Not verified: this record does not match its chain's MAC (it may have been altered).";
  const section = el(
    "section",
    { class: "event-detail", "aria-label": name },
    el("h2", { class: "mono" }, name),
    el("p", { class: event.Verified ? "ok" : "bad" }, verified),
    el("pre", { class: "record", tabindex: "0" }, prettyRecord(event.CloudTrailEvent)),
  );
  return el("tr", { class: "detail" }, el("td", { colspan: String(COLUMNS.length) }, section));
}

function eventRow(event) {
  const show = el(
    "button",
    { type: "button", class: "small", "aria-expanded": "false" },
    "Show event",
    el("span", { class: "visually-hidden" }, ` ${event.EventId}`),
  );
  const row = el(
    "tr",
    { class: event.Verified ? null : "unverified" },
    el("td", { class: "nowrap" }, formatTime(event.EventTime)),
    el("td", {}, camelWrap(event.EventName)),
    el("td", { class: "principal", title: event.Username || null }, principalText(event.Username)),
    el("td", { class: "key-cell" }, keysCell(event.Resources)),
    el("td", {}, camelWrap(event.ErrorCode)),
    el("td", { class: event.Verified ? "ok" : "bad" }, event.Verified ? "Verified" : "Not verified"),
    el("td", {}, show),
  );
  let detail = null;
  show.addEventListener("click", () => {
    if (detail) {
      detail.remove();
      detail = null;
    } else {
      detail = detailRow(event);
      row.after(detail);
    }
    show.setAttribute("aria-expanded", detail ? "true" : "false");
  });
  return row;
}

function minuteLabel(minute, withDate) {
  const text = new Date(minute * 60000).toISOString();
  return withDate ? `${text.slice(5, 10)} ${text.slice(11, 16)}` : text.slice(11, 16);
}

/** Per-minute counts of the events: [{minute, requests, errors}], oldest first. */
export function perMinute(events) {
  const buckets = new Map();
  for (const event of events) {
    const minute = Math.floor(Number(event.EventTime) / 60);
    if (!Number.isFinite(minute)) continue;
    const bucket = buckets.get(minute) || { minute, requests: 0, errors: 0 };
    bucket.requests += 1;
    if (event.ErrorCode) bucket.errors += 1;
    buckets.set(minute, bucket);
  }
  return Array.from(buckets.values()).sort((a, b) => a.minute - b.minute);
}

function hatch() {
  return svg(
    "defs",
    {},
    svg(
      "pattern",
      { id: HATCH_ID, width: "6", height: "6", patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" },
      svg("rect", { width: "6", height: "6", class: "hatch-bg" }),
      svg("line", { x1: "0", y1: "0", x2: "0", y2: "6", class: "hatch-line" }),
    ),
  );
}

/** The chart: one bar per minute (requests), its errors drawn over it from the base,
 * hatched; a time axis from the first to the last minute of the events shown. */
export function chart(events, width) {
  const buckets = perMinute(events);
  const height = 170;
  const margin = { left: 34, right: 10, top: 12, bottom: 26 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const root = svg("svg", {
    role: "img",
    "aria-label": CHART_NAME,
    viewBox: `0 0 ${width} ${height}`,
    width: String(width),
    height: String(height),
    class: "chart",
  });
  root.append(hatch());
  const baseline = margin.top + plotH;
  root.append(svg("line", { x1: margin.left, y1: baseline, x2: width - margin.right, y2: baseline, class: "axis" }));
  if (!buckets.length) {
    root.append(svg("text", { x: width / 2, y: height / 2, "text-anchor": "middle", class: "label" }, "No events"));
    return root;
  }
  const last = buckets[buckets.length - 1].minute;
  const first = Math.min(buckets[0].minute, last - (MIN_MINUTES - 1));
  const slots = last - first + 1;
  const slot = plotW / slots;
  const barW = Math.max(2, Math.min(28, slot * 0.8));
  const top = Math.max(...buckets.map((b) => b.requests));
  const y = (count) => baseline - (count / top) * plotH;
  for (const value of top > 1 ? [top, Math.round(top / 2)] : [top]) {
    root.append(svg("line", { x1: margin.left, y1: y(value), x2: width - margin.right, y2: y(value), class: "grid" }));
    root.append(svg("text", { x: margin.left - 6, y: y(value) + 4, "text-anchor": "end", class: "label" }, String(value)));
  }
  root.append(svg("text", { x: margin.left - 6, y: baseline + 4, "text-anchor": "end", class: "label" }, "0"));
  const withDate = Math.floor(first / 1440) !== Math.floor(last / 1440);
  for (const bucket of buckets) {
    const x = margin.left + (bucket.minute - first) * slot + (slot - barW) / 2;
    const errors = bucket.errors === 1 ? "1 error" : `${bucket.errors} errors`;
    const tip = `${minuteLabel(bucket.minute, withDate)} UTC: ${bucket.requests} requests, ${errors}`;
    const group = svg("g", {}, svg("title", {}, tip));
    group.append(svg("rect", { x, y: y(bucket.requests), width: barW, height: baseline - y(bucket.requests), class: "bar-requests" }));
    if (bucket.errors) {
      group.append(svg("rect", { x, y: y(bucket.errors), width: barW, height: baseline - y(bucket.errors), class: "bar-errors" }));
    }
    root.append(group);
  }
  const ticks = slots > 1 ? [first, last] : [first];
  ticks.forEach((minute, i) => {
    const x = margin.left + (minute - first) * slot + slot / 2;
    const anchor = ticks.length === 1 ? "middle" : i === 0 ? "start" : "end";
    const at = ticks.length === 1 ? x : i === 0 ? margin.left : width - margin.right;
    root.append(svg("text", { x: at, y: height - 8, "text-anchor": anchor, class: "label" }, `${minuteLabel(minute, withDate)} UTC`));
  });
  return root;
}

function chartSummary(events) {
  const buckets = perMinute(events);
  if (!buckets.length) return "No events to chart.";
  const errors = buckets.reduce((sum, b) => sum + b.errors, 0);
  const busiest = buckets.reduce((a, b) => (b.requests > a.requests ? b : a));
  const withDate = Math.floor(buckets[0].minute / 1440) !== Math.floor(busiest.minute / 1440);
  const count = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
  return (
    `${count(events.length, "request")} and ${count(errors, "error")} in ` +
    `${count(buckets.length, "minute")} with events; the busiest, ` +
    `${minuteLabel(busiest.minute, withDate)} UTC, had ${count(busiest.requests, "request")}.`
  );
}

function chartFigure(events, width) {
  return el(
    "figure",
    { class: "chart-figure" },
    chart(events, width),
    el(
      "figcaption",
      {},
      el(
        "ul",
        { class: "legend" },
        el("li", {}, el("span", { class: "swatch requests" }), "Requests"),
        el("li", {}, el("span", { class: "swatch errors" }), "Errors"),
      ),
      el("p", { class: "muted" }, chartSummary(events)),
    ),
  );
}

function statusText(events) {
  const verified = events.filter((e) => e.Verified === true).length;
  const line = `Chain verified for ${verified} of ${events.length} events shown`;
  const bad = events.length - verified;
  return bad ? `${line}. ${bad} not verified: marked “Not verified” in the table.` : line;
}

function filterInputs(params) {
  const text = (name, key) =>
    el("input", { type: "text", name, value: params.get(key) || "", autocomplete: "off", spellcheck: "false" });
  const time = (name) => {
    const given = params.get(name) || "";
    return el("input", { type: "datetime-local", name, step: "1", value: LOCAL_TIME.test(given) ? given : "" });
  };
  return {
    name: text("eventName", "name"),
    key: text("key", "key"),
    principal: text("principal", "principal"),
    from: time("from"),
    to: time("to"),
  };
}

export function renderAudit(root, ctx, params) {
  const given = params instanceof URLSearchParams ? params : new URLSearchParams(params || "");
  const inputs = filterInputs(given);
  const note = el("p", { class: "note", "aria-live": "polite" });
  const errors = el("div", { class: "errors" });
  const status = el("p", { class: "status", role: "status" });
  const results = el("div", { class: "results" });
  const apply = el("button", { type: "submit", class: "primary" }, "Apply filters");
  const clear = el("button", { type: "button" }, "Clear filters");
  const tokens = [undefined]; // the token of each page seen; the last is the current one
  let request = {};

  const values = () => Object.fromEntries(Object.entries(inputs).map(([k, input]) => [k, input.value.trim()]));

  function explainFilters() {
    const filled = [
      ["Event name", inputs.name],
      ["Key", inputs.key],
      ["Principal", inputs.principal],
    ].filter(([, input]) => input.value.trim());
    note.textContent =
      filled.length > 1
        ? `One of Event name, Key and Principal is sent at a time: this search uses ${filled[0][0]}.`
        : "";
  }

  async function fetchPage(token) {
    const events = [];
    let next = token;
    for (let calls = 0; calls < MAX_CALLS_PER_PAGE; calls++) {
      const body = { ...request, MaxResults: PAGE_SIZE - events.length };
      if (next) body.NextToken = next;
      const answer = await ctx.call(TARGET, body);
      events.push(...(answer.Events || []));
      next = answer.NextToken;
      if (!next || events.length >= PAGE_SIZE) break;
    }
    return { events, next };
  }

  function pager(next) {
    const previous = el("button", { type: "button", disabled: tokens.length < 2 }, "Previous page");
    const following = el("button", { type: "button", disabled: !next }, "Next page");
    previous.addEventListener("click", () => {
      tokens.pop();
      void show(previous);
    });
    following.addEventListener("click", () => {
      tokens.push(next);
      void show(following);
    });
    return el("div", { class: "pager" }, previous, el("span", { class: "muted" }, `Page ${tokens.length}`), following);
  }

  async function show(button) {
    clearError(errors);
    status.textContent = "Loading events…";
    results.setAttribute("aria-busy", "true");
    try {
      const { events, next } = await busy(button, fetchPage(tokens[tokens.length - 1]));
      status.textContent = statusText(events);
      const body = events.length
        ? tableWrap(table("Audit events", COLUMNS))
        : el("p", { class: "empty" }, next ? "No events in this stretch of the log: the next page searches further." : "No events match these filters.");
      if (events.length) body.querySelector("tbody").append(...events.map(eventRow));
      const paging = button && results.contains(button) ? button.textContent : null;
      const width = Math.max(300, Math.min(1100, results.clientWidth || 640));
      results.replaceChildren(chartFigure(events, width), body, pager(next));
      if (paging) refocus(paging);
    } catch (error) {
      status.textContent = "";
      results.replaceChildren(); // no table stands beside an error: it would look like "no events"
      showError(errors, error);
    } finally {
      results.removeAttribute("aria-busy");
    }
  }

  /** The paging button pressed was replaced: focus its successor, or the other one. */
  function refocus(text) {
    const buttons = Array.from(results.querySelectorAll(".pager button")).filter((b) => !b.disabled);
    (buttons.find((b) => b.textContent === text) || buttons[0] || status).focus();
  }

  function search(event, button) {
    event?.preventDefault();
    explainFilters();
    clearError(errors);
    try {
      request = lookupRequest(values());
    } catch (error) {
      showError(errors, error);
      return;
    }
    // the filters go in the address (shareable, kept on reload) without a new render
    const query = new URLSearchParams(Object.entries(values()).filter(([, v]) => v)).toString();
    history.replaceState(null, "", `#/audit${query ? `?${query}` : ""}`);
    tokens.splice(0, tokens.length, undefined);
    void show(button);
  }

  clear.addEventListener("click", () => {
    for (const input of Object.values(inputs)) input.value = "";
    search(null, clear);
  });
  for (const input of [inputs.name, inputs.key, inputs.principal]) input.addEventListener("input", explainFilters);

  const form = el(
    "form",
    { class: "filters card", "aria-label": "Filters", on: { submit: (event) => search(event, apply) } },
    el(
      "div",
      { class: "filter-grid" },
      field("Event name", inputs.name),
      field("Key", inputs.key),
      field("Principal", inputs.principal),
      field("From", inputs.from),
      field("To", inputs.to),
    ),
    el(
      "p",
      { class: "hint" },
      "Key: an ARN or key ID. Principal: an ARN or a user name of this account. From and To are UTC.",
    ),
    note,
    el("div", { class: "actions" }, apply, clear),
  );
  root.append(
    el("h1", {}, "Audit"),
    el(
      "p",
      { class: "lead" },
      `This account's requests in ${ctx.creds.region}, newest first, as the audit trail recorded them. `,
      "Each record's MAC is checked against its chain by the server.",
    ),
    form,
    errors,
    status,
    results,
  );
  search(null, apply);
}
