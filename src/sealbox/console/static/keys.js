// The keys page (#/keys): a searchable, paged table of the account's keys, and the
// create-key form. Every string from the API goes into the page as text (textContent via
// ui.el), never as markup; every API error is shown as the API sent it (ui.showError).

import { busy, clearError, el, errorText, field, formatTime, showError } from "./ui.js";

const PAGE_SIZE = 25;
export const KEY_SPECS = [
  "SYMMETRIC_DEFAULT", "RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384",
  "ECC_NIST_P521", "ECC_SECG_P256K1", "HMAC_224", "HMAC_256", "HMAC_384", "HMAC_512",
];
const KEY_USAGES = ["ENCRYPT_DECRYPT", "SIGN_VERIFY", "GENERATE_VERIFY_MAC", "KEY_AGREEMENT"];
const COLUMNS = ["Alias", "Key ID", "Spec", "Usage", "State", "Rotation", "Created"];

let counter = 0;

/** A fresh element id with a readable prefix (labels are wired to inputs by id). */
export function uid(prefix) {
  counter += 1;
  return `${prefix}-${counter}`;
}

/** Attributes ui.el does not promise to set (scope, min, rows, …), set as plain attributes. */
export function attrs(node, values) {
  for (const [name, value] of Object.entries(values)) node.setAttribute(name, String(value));
  return node;
}

/** A table in a wrapper that scrolls sideways on narrow screens; returns [wrapper, tbody]. */
export function dataTable(label, columns) {
  const tbody = el("tbody");
  const head = el("tr", {}, ...columns.map((name) => attrs(el("th", {}, name), { scope: "col" })));
  const table = el("table", { "aria-label": label }, el("thead", {}, head), tbody);
  // focusable so a keyboard user can scroll it sideways
  const name = `${label} (scrollable)`;
  const wrapper = el("div", { class: "table-wrap", role: "region", "aria-label": name }, table);
  attrs(wrapper, { tabindex: "0" });
  return [wrapper, tbody];
}

/** A row spanning every column, saying why there is nothing (or not yet anything) to show. */
export function noteRow(columns, text) {
  return el("tr", {}, attrs(el("td", { class: "keys-note" }, text), { colspan: columns }));
}

/** `key=value` lines → [[key, value]]; blank lines skipped; a line without "=" throws. */
export function pairsFromLines(text, what) {
  const pairs = [];
  text.split(/\r?\n/).forEach((line, index) => {
    if (!line.trim()) return;
    const at = line.indexOf("=");
    if (at < 0) throw new Error(`${what}: line ${index + 1} has no "=" (write one key=value per line)`);
    pairs.push([line.slice(0, at).trim(), line.slice(at + 1).trim()]);
  });
  return pairs;
}

/** Every page of a Marker-paged list operation, concatenated. */
export async function listAll(ctx, target, payload, member) {
  const items = [];
  let marker;
  do {
    const answer = await ctx.call(target, marker ? { ...payload, Marker: marker } : payload);
    items.push(...(answer[member] || []));
    marker = answer.Truncated ? answer.NextMarker : undefined;
  } while (marker);
  return items;
}

/** The Rotation column's text from GetKeyRotationStatus. */
export function rotationText(status) {
  if (!status.KeyRotationEnabled) return "Disabled";
  return `Enabled (every ${status.RotationPeriodInDays} days)`;
}

function select(options, chosen) {
  return el("select", {}, ...options.map((o) => {
    const option = el("option", { value: o }, o);
    option.selected = o === chosen;
    return option;
  }));
}

// A usage the chosen spec allows, when the current one does not (the API still decides).
function usageFor(spec, usage) {
  if (spec === "SYMMETRIC_DEFAULT") return "ENCRYPT_DECRYPT";
  if (spec.startsWith("HMAC_")) return "GENERATE_VERIFY_MAC";
  if (spec === "ECC_SECG_P256K1") return "SIGN_VERIFY";
  if (spec.startsWith("ECC_")) return usage === "KEY_AGREEMENT" ? usage : "SIGN_VERIFY";
  return ["ENCRYPT_DECRYPT", "SIGN_VERIFY"].includes(usage) ? usage : "ENCRYPT_DECRYPT";
}

function createForm(ctx) {
  const description = el("input", { type: "text", id: uid("key-description"), name: "description" });
  const spec = select(KEY_SPECS, "SYMMETRIC_DEFAULT");
  const usage = select(KEY_USAGES, "ENCRYPT_DECRYPT");
  spec.id = uid("key-spec");
  usage.id = uid("key-usage");
  spec.addEventListener("change", () => {
    usage.value = usageFor(spec.value, usage.value);
  });
  const tags = attrs(el("textarea", { id: uid("key-tags"), name: "tags", placeholder: "team=payments" }), {
    rows: "3",
  });
  const policy = attrs(el("textarea", { id: uid("key-policy"), name: "policy", class: "keys-code" }), {
    rows: "6",
    spellcheck: "false",
  });
  const errors = el("div", { class: "keys-errors" });
  const submit = el("button", { type: "submit" }, "Create");

  async function create() {
    const payload = { KeySpec: spec.value, KeyUsage: usage.value };
    if (description.value) payload.Description = description.value;
    const tagPairs = pairsFromLines(tags.value, "Tags");
    if (tagPairs.length) payload.Tags = tagPairs.map(([TagKey, TagValue]) => ({ TagKey, TagValue }));
    if (policy.value.trim()) payload.Policy = policy.value; // sent as written: the API judges it
    const created = await ctx.call("CreateKey", payload);
    ctx.navigate(`#/keys/${encodeURIComponent(created.KeyMetadata.KeyId)}`);
  }

  const form = el(
    "form",
    { class: "card keys-form", role: "form", "aria-label": "Create key" },
    el("h2", {}, "Create key"),
    field("Description", description),
    el("div", { class: "keys-row" }, field("Key spec", spec), field("Key usage", usage)),
    field("Tags", tags),
    el("p", { class: "hint" }, "One key=value per line."),
    field("Key policy (optional)", policy),
    el("p", { class: "hint" }, "JSON; leave empty for the default key policy."),
    errors,
    el("div", { class: "actions" }, submit),
  );
  form.hidden = true;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearError(errors);
    busy(submit, create()).catch((error) => showError(errors, error));
  });
  return { form, focus: () => description.focus() };
}

function keyRow(item) {
  const { id, meta, aliases, rotation, error } = item;
  const link = el("a", { href: `#/keys/${encodeURIComponent(id)}` }, id);
  const cells = [
    el("td", {}, ...aliases.flatMap((name, i) => (i ? [el("br"), name] : [name]))),
    el("td", { class: "keys-id mono" }, link),
  ];
  if (meta) {
    cells.push(
      el("td", {}, meta.KeySpec || ""),
      el("td", {}, meta.KeyUsage || ""),
      el("td", {}, meta.KeyState || ""),
      el("td", {}, rotation),
      el("td", { class: "nowrap" }, meta.CreationDate ? formatTime(meta.CreationDate) : ""),
    );
  } else {
    cells.push(attrs(el("td", { class: "keys-cell-error" }, errorText(error)), { colspan: "5" }));
  }
  return el("tr", {}, ...cells);
}

async function describeRow(ctx, key, aliasesById) {
  const item = { id: key.KeyId, aliases: aliasesById.get(key.KeyId) || [], meta: null, rotation: "" };
  try {
    item.meta = (await ctx.call("DescribeKey", { KeyId: key.KeyId })).KeyMetadata;
  } catch (error) {
    item.error = error;
    return item;
  }
  if (item.meta.KeySpec !== "SYMMETRIC_DEFAULT") {
    item.rotation = "Not supported";
    return item;
  }
  try {
    item.rotation = rotationText(await ctx.call("GetKeyRotationStatus", { KeyId: key.KeyId }));
  } catch (error) {
    item.rotation = errorText(error);
  }
  return item;
}

export function renderKeys(root, ctx) {
  const markers = [undefined]; // markers[n]: the Marker that lists page n
  let pageIndex = 0;
  let items = [];
  let generation = 0;

  const errors = el("div", { class: "keys-errors" });
  const search = el("input", {
    type: "search",
    id: uid("keys-search"),
    placeholder: "Alias, key ID or description",
  });
  const status = el("p", { class: "keys-count", role: "status" });
  const [tableWrap, tbody] = dataTable("Keys", COLUMNS);
  const previous = el("button", { type: "button", disabled: true }, "Previous page");
  const next = el("button", { type: "button", disabled: true }, "Next page");
  const pageLabel = el("span", { class: "keys-page-label" });
  const { form, focus } = createForm(ctx);
  const toggle = el("button", { type: "button", class: "primary", "aria-expanded": "false" }, "Create key");
  form.id = uid("create-key-form");
  attrs(toggle, { "aria-controls": form.id });

  function show() {
    const needle = search.value.trim().toLowerCase();
    const shown = items.filter((item) => {
      if (!needle) return true;
      const haystack = [item.id, item.meta?.Description || "", ...item.aliases];
      return haystack.some((text) => text.toLowerCase().includes(needle));
    });
    tbody.replaceChildren(...shown.map(keyRow));
    if (!shown.length) tbody.append(noteRow(COLUMNS.length, items.length ? "No keys match." : "No keys."));
    status.textContent = needle
      ? `${shown.length} of ${items.length} keys on this page match.`
      : `${items.length} keys on this page.`;
  }

  async function load() {
    const mine = ++generation;
    clearError(errors);
    previous.disabled = true;
    next.disabled = true;
    tbody.replaceChildren(noteRow(COLUMNS.length, "Loading…"));
    status.textContent = "";
    try {
      const payload = { Limit: PAGE_SIZE };
      if (markers[pageIndex]) payload.Marker = markers[pageIndex];
      const listed = await ctx.call("ListKeys", payload);
      const aliases = await listAll(ctx, "ListAliases", { Limit: 100 }, "Aliases").catch((error) => {
        if (mine === generation) showError(errors, error); // the table still shows, without aliases
        return [];
      });
      const aliasesById = new Map();
      for (const alias of aliases) {
        if (!alias.TargetKeyId) continue;
        aliasesById.set(alias.TargetKeyId, [...(aliasesById.get(alias.TargetKeyId) || []), alias.AliasName]);
      }
      const described = await Promise.all((listed.Keys || []).map((k) => describeRow(ctx, k, aliasesById)));
      if (mine !== generation) return;
      items = described;
      markers[pageIndex + 1] = listed.Truncated ? listed.NextMarker : undefined;
      next.disabled = !listed.Truncated;
      previous.disabled = pageIndex === 0;
      pageLabel.textContent = `Page ${pageIndex + 1}`;
      show();
    } catch (error) {
      if (mine !== generation) return;
      items = [];
      tbody.replaceChildren(noteRow(COLUMNS.length, "The keys could not be listed."));
      previous.disabled = pageIndex === 0;
      showError(errors, error);
    }
  }

  search.addEventListener("input", show);
  // not ui.busy: load() itself disables both and then enables the ones that apply
  next.addEventListener("click", () => {
    pageIndex += 1;
    load();
  });
  previous.addEventListener("click", () => {
    pageIndex = Math.max(0, pageIndex - 1);
    load();
  });
  toggle.addEventListener("click", () => {
    form.hidden = !form.hidden;
    toggle.setAttribute("aria-expanded", String(!form.hidden));
    if (!form.hidden) focus();
  });

  root.replaceChildren(
    el("div", { class: "keys-page" },
      el("div", { class: "keys-heading" }, el("h1", {}, "Keys"), toggle),
      form,
      el("div", { class: "keys-toolbar" }, field("Search keys", search), status),
      errors,
      tableWrap,
      el("div", { class: "pager" }, previous, pageLabel, next),
    ),
  );
  return load(); // app.js waits for it to set the document's title
}
