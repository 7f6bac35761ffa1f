// One key's page (#/keys/<id>): metadata and lifecycle actions, aliases, key policy, grants,
// tags, rotation history and recent audit events. Each section loads on its own, shows its
// own errors (the API's words, verbatim) and is reloaded after an action that changes it.
// API strings only ever reach the page as text (ui.el / textContent), never as markup.

import { busy, clearError, el, errorText, field, formatTime, showError } from "./ui.js";
import { attrs, dataTable, listAll, noteRow, pairsFromLines, rotationText, uid } from "./keys.js";

const GRANT_OPERATIONS = [
  "Encrypt", "Decrypt", "GenerateDataKey", "ReEncryptFrom", "ReEncryptTo", "DescribeKey",
  "CreateGrant", "RetireGrant", "Sign", "Verify", "GenerateMac", "VerifyMac",
  "GenerateDataKeyWithoutPlaintext", "DeriveSharedSecret",
];
const LOOKUP_EVENTS = "Sealbox_20261128.LookupEvents";
const EVENTS_SHOWN = 10;

/** A titled section: a heading focus can return to, a box for action errors, and a body.
 * With `fetch` and `render`, its load() renders the latest answer or shows the failure. */
function section(title, fetch, render) {
  const heading = attrs(el("h2", {}, title), { tabindex: "-1" });
  const part = {
    heading,
    errors: el("div", { class: "keys-errors" }),
    body: el("div", { class: "keys-section-body" }),
    focusTarget: () => heading,
  };
  part.node = el("section", { class: "keys-section" }, heading, part.errors, part.body);
  let generation = 0;
  part.load = async () => {
    const mine = ++generation;
    try {
      const data = await fetch();
      if (mine === generation) render(data);
    } catch (error) {
      if (mine === generation) showError(part.body, error);
    }
  };
  return part;
}

/** A button (visible text `text`, accessible name `name`) that runs key.act when clicked. */
function actionButton(key, part, text, action, reload, { name = null, style = null } = {}) {
  const button = el("button", { type: "button", class: style, "aria-label": name }, text);
  button.addEventListener("click", () => key.act(button, part, action, reload));
  return button;
}

/** A form whose submit runs key.act with its submit button. */
function actionForm(key, part, className, children, submit, action, reload) {
  const form = el("form", { class: className }, ...children, submit);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    key.act(submit, part, action, reload);
  });
  return form;
}

function lines(values) {
  return values.flatMap((text, i) => (i ? [el("br"), text] : [text]));
}

function listOrNote(items, note) {
  return items.length ? el("ul", { class: "keys-list" }, ...items) : el("p", {}, note);
}

function constraintLines(constraints) {
  return Object.entries(constraints || {}).map(
    ([kind, pairs]) => `${kind}: ${Object.entries(pairs).map(([k, v]) => `${k}=${v}`).join(", ")}`,
  );
}

export function renderKey(root, ctx, keyId) {
  const title = el("h1", {}, keyId);
  const topErrors = el("div", { class: "keys-errors" });
  const page = el("div", { class: "keys-page" }, title, topErrors);
  root.replaceChildren(page);
  // returned so app.js can set the document's title once the first alias is known
  return ctx.call("DescribeKey", { KeyId: keyId }).then(
    (answer) => build(page, ctx, title, answer.KeyMetadata),
    (error) => showError(topErrors, error),
  );
}

function build(page, ctx, title, first) {
  const key = { ctx, title, id: first.KeyId, arn: first.Arn, first, parts: {} };

  /** Run one action: its errors go to the section's box; then the named sections and the
   * events reload, whether it worked or not (a refused call is an event too). */
  key.act = async (button, part, action, reload = []) => {
    clearError(part.errors);
    try {
      await busy(button, action());
    } catch (error) {
      showError(part.errors, error);
    }
    await Promise.all([...reload.map((name) => key.parts[name].load()), key.parts.events.load()]);
    if (!button.isConnected) part.focusTarget().focus(); // its button was replaced
  };

  const parts = {
    summary: details(key),
    aliases: aliases(key),
    policy: keyPolicy(key),
    grants: grants(key),
    tags: tags(key),
    rotations: rotations(key),
    events: events(key),
  };
  Object.assign(key.parts, parts);
  page.append(...Object.values(parts).map((part) => part.node));
  const { events: last, ...rest } = parts;
  // the events last: they then include this page's own reads
  return Promise.all(Object.values(rest).map((part) => part.load())).then(last.load);
}

// -- metadata and lifecycle -------------------------------------------------------------------

function details(key) {
  const { ctx, id } = key;
  let seed = key.first; // the renderer's DescribeKey answer, used once
  const part = section(
    "Details",
    async () => {
      const meta = seed || (await ctx.call("DescribeKey", { KeyId: id })).KeyMetadata;
      seed = null;
      if (meta.KeySpec !== "SYMMETRIC_DEFAULT") return { meta, rotation: "Not supported" };
      const rotation = await ctx.call("GetKeyRotationStatus", { KeyId: id }).then((status) => {
        const next = status.NextRotationDate ? `; next ${formatTime(status.NextRotationDate)}` : "";
        return rotationText(status) + next;
      }, errorText);
      return { meta, rotation };
    },
    ({ meta, rotation }) => {
      const rows = [
        ["Key ID", meta.KeyId], ["ARN", meta.Arn], ["Description", meta.Description || "(none)"],
        ["State", meta.KeyState], ["Spec", meta.KeySpec], ["Usage", meta.KeyUsage],
        ["Origin", meta.Origin], ["Key manager", meta.KeyManager],
        ["Created", formatTime(meta.CreationDate)], ["Rotation", rotation],
      ];
      if (meta.DeletionDate) rows.push(["Deletion date", formatTime(meta.DeletionDate)]);
      const list = el("dl", { class: "keys-meta" },
        ...rows.flatMap(([term, value]) => [el("dt", {}, term), el("dd", {}, value)]));
      part.body.replaceChildren(list, lifecycle(key, part, meta));
    },
  );
  part.focusTarget = () => part.body.querySelector("button") || part.heading;
  return part;
}

function lifecycle(key, part, meta) {
  const { ctx, id } = key;
  const call = (target, payload = {}) => () => ctx.call(target, { KeyId: id, ...payload });
  const buttons = [];
  if (meta.KeyState === "Enabled") {
    const style = { style: "danger" };
    buttons.push(actionButton(key, part, "Disable key", call("DisableKey"), ["summary"], style));
  }
  if (meta.KeyState === "Disabled") {
    buttons.push(actionButton(key, part, "Enable key", call("EnableKey"), ["summary"]));
  }
  if (meta.KeySpec === "SYMMETRIC_DEFAULT" && meta.Origin === "AWS_KMS") {
    buttons.push(actionButton(key, part, "Rotate now", call("RotateKeyOnDemand"), ["summary", "rotations"]));
  }
  if (meta.KeyState === "PendingDeletion") {
    buttons.push(actionButton(key, part, "Cancel deletion", call("CancelKeyDeletion"), ["summary"]));
    return el("div", { class: "actions keys-lifecycle" }, ...buttons);
  }
  const days = attrs(el("input", { type: "number", id: uid("waiting-days"), value: "30" }), {
    min: "7",
    max: "30",
    step: "1",
    inputmode: "numeric",
  });
  const schedule = el("button", { type: "submit", class: "danger" }, "Schedule deletion");
  const form = actionForm(key, part, "keys-inline-form", [field("Waiting period (days)", days)], schedule,
    async () => {
      if (days.value === "") throw new Error("Enter a waiting period in days (7 to 30).");
      await call("ScheduleKeyDeletion", { PendingWindowInDays: Number(days.value) })();
    },
    ["summary"]);
  attrs(form, { novalidate: "" }); // the API, not the browser, says what is wrong with a number
  return el("div", { class: "actions keys-lifecycle" }, ...buttons, form);
}

// -- aliases ----------------------------------------------------------------------------------

function aliases(key) {
  const { ctx, id } = key;
  const part = section(
    "Aliases",
    () => listAll(ctx, "ListAliases", { KeyId: id, Limit: 100 }, "Aliases"),
    (list) => {
      key.title.textContent = list.length ? list[0].AliasName : id;
      const items = list.map(({ AliasName }) => el("li", {},
        el("span", { class: "keys-name" }, AliasName),
        actionButton(key, part, "Delete", () => ctx.call("DeleteAlias", { AliasName }), ["aliases"], {
          name: `Delete alias ${AliasName}`,
          style: "small danger",
        })));
      part.body.replaceChildren(listOrNote(items, "No aliases."));
    },
  );
  const name = el("input", { type: "text", id: uid("alias-name"), placeholder: "alias/example" });
  // CreateAlias adds a new alias; UpdateAlias moves one from another key of the account
  const aliasTo = (target) => async () => {
    const AliasName = name.value.startsWith("alias/") ? name.value : `alias/${name.value}`;
    await ctx.call(target, { AliasName, TargetKeyId: id });
    name.value = "";
  };
  const add = el("button", { type: "submit" }, "Add alias"); // Enter in the name adds
  const form = actionForm(key, part, "keys-inline-form", [field("New alias name", name)], add,
    aliasTo("CreateAlias"), ["aliases"]);
  form.append(actionButton(key, part, "Move alias here", aliasTo("UpdateAlias"), ["aliases"]));
  part.node.append(form);
  return part;
}

// -- key policy -------------------------------------------------------------------------------

function keyPolicy(key) {
  const { ctx, id } = key;
  const text = attrs(el("textarea", { id: uid("key-policy"), class: "keys-code" }), {
    rows: "16",
    spellcheck: "false",
  });
  const status = el("p", { class: "status", role: "status" });
  const save = el("button", { type: "button" }, "Save policy");
  const part = section("Key policy", null, null);
  part.body.append(field("Key policy", text));
  part.node.append(el("div", { class: "actions" }, save), status);
  // a failed load shows in the errors box: the editor stays, with what it held
  part.load = async () => {
    try {
      const stored = (await ctx.call("GetKeyPolicy", { KeyId: id, PolicyName: "default" })).Policy;
      try {
        text.value = JSON.stringify(JSON.parse(stored), null, 2);
      } catch {
        text.value = stored; // not JSON we can re-indent: shown as stored
      }
    } catch (error) {
      showError(part.errors, error);
    }
  };
  save.addEventListener("click", () => {
    status.textContent = "";
    // sent as written; on an error the editor keeps the text so it can be fixed
    key.act(save, part, async () => {
      await ctx.call("PutKeyPolicy", { KeyId: id, PolicyName: "default", Policy: text.value });
      status.textContent = "Policy saved";
      await part.load();
    });
  });
  part.focusTarget = () => save;
  return part;
}

// -- grants -----------------------------------------------------------------------------------

function grants(key) {
  const { ctx, id } = key;
  const columns = ["Name", "Grant ID", "Grantee", "Operations", "Constraints", "Created", ""];
  const [table, rows] = dataTable("Grants", columns);
  const part = section(
    "Grants",
    () => listAll(ctx, "ListGrants", { KeyId: id, Limit: 100 }, "Grants"),
    (list) => {
      rows.replaceChildren(...list.map((grant) => el("tr", {},
        el("td", {}, grant.Name || ""),
        el("td", { class: "keys-id mono" }, grant.GrantId),
        el("td", { class: "keys-id mono" }, grant.GranteePrincipal || ""),
        el("td", {}, ...lines(grant.Operations || [])),
        el("td", {}, ...lines(constraintLines(grant.Constraints))),
        el("td", { class: "nowrap" }, grant.CreationDate ? formatTime(grant.CreationDate) : ""),
        el("td", {}, actionButton(key, part, "Revoke",
          () => ctx.call("RevokeGrant", { KeyId: id, GrantId: grant.GrantId }), ["grants"],
          { name: `Revoke grant ${grant.GrantId}`, style: "small danger" })))));
      if (!list.length) rows.append(noteRow(columns.length, "No grants."));
      part.body.replaceChildren(table);
    },
  );
  part.node.append(grantForm(key, part));
  return part;
}

function grantForm(key, part) {
  const grantee = el("input", {
    type: "text",
    id: uid("grantee"),
    placeholder: "arn:aws:iam::111122223333:user/name",
  });
  const checks = GRANT_OPERATIONS.map((operation) =>
    el("input", { type: "checkbox", name: "operation", value: operation }));
  const context = attrs(el("textarea", { id: uid("grant-context"), placeholder: "purpose=backup" }), {
    rows: "3",
  });
  const name = el("input", { type: "text", id: uid("grant-name") });
  const status = el("p", { class: "status", role: "status" });
  const children = [
    el("h3", {}, "Create grant"),
    field("Grantee principal", grantee),
    el("fieldset", { class: "keys-checks" }, el("legend", {}, "Operations"),
      ...checks.map((box) => el("label", {}, box, box.value))),
    field("Encryption context (equals)", context),
    el("p", { class: "hint" }, "Optional: one key=value per line; the grant then allows only that context."),
    field("Grant name", name),
  ];
  const submit = el("button", { type: "submit" }, "Create grant");
  const form = actionForm(key, part, "keys-form", children, submit, async () => {
    status.textContent = "";
    const payload = {
      KeyId: key.id,
      GranteePrincipal: grantee.value,
      Operations: checks.filter((box) => box.checked).map((box) => box.value),
    };
    const pairs = pairsFromLines(context.value, "Encryption context (equals)");
    if (pairs.length) payload.Constraints = { EncryptionContextEquals: Object.fromEntries(pairs) };
    if (name.value) payload.Name = name.value;
    const created = await key.ctx.call("CreateGrant", payload);
    status.textContent = `Grant ${created.GrantId} created`; // its token is not shown: not needed here
    form.reset();
  }, ["grants"]);
  attrs(form, { "aria-label": "Create grant" });
  form.append(status);
  return form;
}

// -- tags -------------------------------------------------------------------------------------

function tags(key) {
  const { ctx, id } = key;
  const part = section(
    "Tags",
    () => listAll(ctx, "ListResourceTags", { KeyId: id, Limit: 50 }, "Tags"),
    (list) => {
      const items = list.map(({ TagKey, TagValue }) => el("li", {},
        el("span", { class: "keys-name" }, `${TagKey} = ${TagValue}`),
        actionButton(key, part, "Remove", () => ctx.call("UntagResource", { KeyId: id, TagKeys: [TagKey] }),
          ["tags"], { name: `Remove tag ${TagKey}`, style: "small danger" })));
      part.body.replaceChildren(listOrNote(items, "No tags."));
    },
  );
  const tagKey = el("input", { type: "text", id: uid("tag-key") });
  const tagValue = el("input", { type: "text", id: uid("tag-value") });
  const add = el("button", { type: "submit" }, "Add tag");
  const fields = [field("Tag key", tagKey), field("Tag value", tagValue)];
  const form = actionForm(key, part, "keys-inline-form", fields, add, async () => {
    await ctx.call("TagResource", { KeyId: id, Tags: [{ TagKey: tagKey.value, TagValue: tagValue.value }] });
    form.reset();
  }, ["tags"]);
  part.node.append(form);
  return part;
}

// -- rotation history -------------------------------------------------------------------------

function rotations(key) {
  const columns = ["Date", "Type", "Key material", "Material state"];
  const [table, rows] = dataTable("Rotation history", columns);
  const symmetric = key.first.KeySpec === "SYMMETRIC_DEFAULT";
  const part = section(
    "Rotation history",
    async () => {
      if (!symmetric) return null;
      return listAll(key.ctx, "ListKeyRotations", { KeyId: key.id, Limit: 100 }, "Rotations");
    },
    (list) => {
      if (list === null) {
        part.body.replaceChildren(el("p", {}, "Only symmetric encryption keys rotate."));
        return;
      }
      // newest first, like the events
      rows.replaceChildren(...list.slice().reverse().map((rotation) => el("tr", {},
        el("td", { class: "nowrap" }, rotation.RotationDate ? formatTime(rotation.RotationDate) : ""),
        el("td", {}, rotation.RotationType || ""),
        el("td", { class: "keys-id mono" }, rotation.KeyMaterialId || ""),
        el("td", {}, rotation.KeyMaterialState || ""))));
      if (!list.length) rows.append(noteRow(columns.length, "Never rotated."));
      part.body.replaceChildren(table);
    },
  );
  return part;
}

// -- recent events ----------------------------------------------------------------------------

function events(key) {
  const columns = ["Time", "Event", "Principal", "Error", "Chain"];
  const [table, rows] = dataTable("Recent events", columns);
  const part = section(
    "Recent events",
    () => key.ctx.call(LOOKUP_EVENTS, {
      LookupAttributes: [{ AttributeKey: "ResourceName", AttributeValue: key.arn }],
      MaxResults: EVENTS_SHOWN,
    }),
    (answer) => {
      const list = answer.Events || [];
      rows.replaceChildren(...list.map((event) => el("tr", {},
        el("td", { class: "nowrap" }, formatTime(event.EventTime)),
        el("td", {}, event.EventName),
        el("td", { class: "keys-id mono" }, event.Username || ""),
        el("td", {}, event.ErrorCode || ""),
        el("td", {}, event.Verified ? "Verified" : "Not verified"))));
      if (!list.length) rows.append(noteRow(columns.length, "No events yet."));
      part.body.replaceChildren(table);
    },
  );
  const refresh = el("button", { type: "button" }, "Refresh events");
  refresh.addEventListener("click", () => busy(refresh, part.load()));
  const all = el("a", { href: `#/audit?key=${encodeURIComponent(key.arn)}` }, "All events for this key");
  part.node.append(el("div", { class: "actions" }, all, refresh));
  return part;
}
