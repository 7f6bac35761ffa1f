// DOM helpers shared by every page. Text always goes in as text nodes (textContent), never
// as markup: an API string can never inject elements, attributes or script.

import { ApiError } from "./sigv4.js";

const SVG_NS = "http://www.w3.org/2000/svg";
// Attributes set as properties: true adds them, false or null leaves them out.
const BOOLEANS = new Set(["disabled", "checked", "required", "readonly", "multiple", "hidden", "selected"]);
let nextId = 0;

function apply(node, attrs) {
  let value = null;
  for (const [name, given] of Object.entries(attrs || {})) {
    if (given === null || given === undefined || given === false) continue;
    if (name === "on") {
      for (const [event, handler] of Object.entries(given)) node.addEventListener(event, handler);
    } else if (name === "style" || /^on/i.test(name)) {
      // the CSP refuses inline styles and handlers: fail loudly rather than silently
      throw new Error(`el(): "${name}" is not allowed; use a class or the on: {} map`);
    } else if (name === "value") {
      value = given; // after the children, so a <select> has its options first
    } else if (BOOLEANS.has(name)) {
      node.setAttribute(name, "");
      if (name in node) node[name] = true;
    } else {
      node.setAttribute(name, given === true ? "" : String(given));
    }
  }
  return value;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** An element: el("button", {class: "primary", on: {click}}, "Save"). Children are nodes or
 * strings (made text nodes); null, undefined and false are skipped; arrays are flattened. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  const value = apply(node, attrs);
  append(node, children);
  if (value !== null) node.value = String(value);
  return node;
}

/** The same for SVG elements (the audit chart). */
export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  apply(node, attrs);
  append(node, children);
  return node;
}

/** A fresh id for wiring labels and descriptions ("ui-7"). */
export function uniqueId(prefix = "ui") {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

/** The text of an error as the console shows it: "Type: message" for an API error. */
export function errorText(error) {
  if (error instanceof ApiError || (error && error.name === "ApiError" && error.type)) {
    return error.message ? `${error.type}: ${error.message}` : error.type;
  }
  return String((error && error.message) || error);
}

/** An error box (role="alert") in place of what `container` holds: <strong>Type</strong>:
 * message for an API error, exactly as the API sent them; other errors: their message. */
export function showError(container, error) {
  let box;
  if (error instanceof ApiError || (error && error.name === "ApiError" && error.type)) {
    box = el("div", { class: "error", role: "alert" }, el("strong", {}, error.type));
    if (error.message) box.append(`: ${error.message}`);
  } else {
    box = el("div", { class: "error", role: "alert" }, errorText(error));
  }
  container.replaceChildren(box);
  return box;
}

export function clearError(container) {
  container.replaceChildren();
}

/** A status line (role="status") in place of what `container` holds. */
export function showStatus(container, text) {
  const line = el("p", { class: "status", role: "status" }, text);
  container.replaceChildren(line);
  return line;
}

/** A labelled control: <div class="field"><label for=id>label</label>input</div> (a
 * checkbox or radio comes before its label). Gives the input an id when it has none. */
export function field(label, input) {
  if (!input.id) input.id = uniqueId("field");
  const tag = el("label", { for: input.id }, label);
  const check = input.type === "checkbox" || input.type === "radio";
  return el("div", { class: check ? "field check" : "field" }, check ? [input, tag] : [tag, input]);
}

/** Seconds since the epoch (a number, or a numeric string) -> "2026-11-29 04:05:06 UTC". */
export function formatTime(epochSeconds) {
  if (epochSeconds === null || epochSeconds === undefined || epochSeconds === "") return "";
  const moment = new Date(Number(epochSeconds) * 1000);
  if (Number.isNaN(moment.getTime())) return String(epochSeconds);
  return moment.toISOString().slice(0, 19).replace("T", " ") + " UTC";
}

/** Disables `button` (aria-busy) while `promise` runs (a function is called first);
 * returns the promise, so errors still reach the caller. */
export function busy(button, promise) {
  const running = typeof promise === "function" ? promise() : promise;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  const done = () => {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  };
  Promise.resolve(running).then(done, done);
  return running;
}

/** A table in a wrapper that scrolls sideways on narrow screens (the page itself never does). */
export function tableWrap(table) {
  return el("div", { class: "table-wrap" }, table);
}

/** <table aria-label=label> with a header row of `columns` and an empty <tbody>. */
export function table(label, columns) {
  const head = el("thead", {}, el("tr", {}, columns.map((c) => el("th", { scope: "col" }, c))));
  return el("table", { "aria-label": label }, head, el("tbody"));
}
