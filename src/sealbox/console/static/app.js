// The console's entry point: a hash router, the shell (header, navigation, sign-out) and the
// sign-in page. Pages are ES modules loaded on first use; each gets an empty <main> and a
// ctx whose call() signs with the operator's own key (see session.js and sigv4.js).

import { ApiError, clearSigningKeys, kmsCall } from "./sigv4.js";
import { DEFAULT_REGION, clearSession, loadSession, saveSession } from "./session.js";
import { busy, clearError, el, field, showError } from "./ui.js";

const TITLE = "Sealbox console";
// Route name -> how to get its renderer; each renderer is (root, ctx, argument).
const PAGES = {
  keys: async () => (await import("./keys.js")).renderKeys,
  key: async () => (await import("./key.js")).renderKey,
  audit: async () => (await import("./audit.js")).renderAudit,
};

const app = document.getElementById("app");
const problems = el("div", { class: "problems" }); // errors no page caught: shown, never swallowed
let firstRender = true;

/** location.hash -> {name, arg}: "#/keys/abc" -> {name: "key", arg: "abc"}. */
export function parseRoute(hash) {
  const raw = hash.replace(/^#/, "");
  const at = raw.indexOf("?");
  const path = at < 0 ? raw : raw.slice(0, at);
  const params = new URLSearchParams(at < 0 ? "" : raw.slice(at + 1));
  const parts = path.split("/").filter(Boolean);
  if (parts.length === 0) return { name: "home" };
  if (parts.length === 1 && parts[0] === "signin") return { name: "signin" };
  if (parts.length === 1 && parts[0] === "keys") return { name: "keys" };
  if (parts.length === 1 && parts[0] === "audit") return { name: "audit", arg: params };
  if (parts.length === 2 && parts[0] === "keys") {
    try {
      return { name: "key", arg: decodeURIComponent(parts[1]) };
    } catch {
      return { name: "missing" };
    }
  }
  return { name: "missing" };
}

function signOut() {
  clearSession();
  problems.replaceChildren();
  location.hash = "#/signin";
}

function skipLink(main) {
  const jump = (event) => {
    event.preventDefault(); // a plain #main would be read as a route
    main.focus();
  };
  return el("a", { class: "skip-link", href: "#main", on: { click: jump } }, "Skip to content");
}

function shellHeader(creds, route, main) {
  const link = (href, text, current) =>
    el("a", { href, "aria-current": current ? "page" : null }, text);
  return el(
    "header",
    { class: "topbar" },
    skipLink(main),
    el("span", { class: "brand" }, "Sealbox"),
    el(
      "nav",
      { "aria-label": "Main" },
      link("#/keys", "Keys", route.name === "keys" || route.name === "key"),
      link("#/audit", "Audit", route.name === "audit"),
    ),
    el(
      "div",
      { class: "who" },
      el(
        "span",
        { class: "identity" },
        "Signed in as ",
        el("code", { class: "access-key" }, creds.accessKeyId),
        el("span", { class: "region" }, ` · ${creds.region}`),
      ),
      el("button", { type: "button", on: { click: signOut } }, "Sign out"),
    ),
  );
}

function contextFor(creds) {
  return Object.freeze({
    call(target, payload) {
      // a page still loading after sign-out must not go on signing with the old key
      if (loadSession()?.accessKeyId !== creds.accessKeyId) {
        return Promise.reject(new Error("You are signed out."));
      }
      return kmsCall(target, payload, creds, { region: creds.region });
    },
    navigate(hash) {
      location.hash = hash;
    },
    creds: Object.freeze({ accessKeyId: creds.accessKeyId, region: creds.region }),
  });
}

// WebCrypto (crypto.subtle) exists only in secure contexts: https://, or http://127.0.0.1 and
// http://localhost. Anywhere else nothing could be signed; the sign-in page says why.
const INSECURE =
  "This page is not a secure context, so the browser offers no WebCrypto to sign requests " +
  "with. Open the console over https:// (sealbox serve --tls-cert … --tls-key …), or at " +
  "http://127.0.0.1 or http://localhost on the server's own machine.";

function renderSignIn(main) {
  const errors = el("div", { class: "errors" });
  const secure = Boolean(globalThis.isSecureContext && globalThis.crypto?.subtle);
  const input = (attrs) =>
    el("input", { autocomplete: "off", spellcheck: "false", autocapitalize: "none", ...attrs });
  const accessKeyId = input({ type: "text", name: "accessKeyId" });
  const secret = input({ type: "password", name: "secretAccessKey" });
  const region = input({ type: "text", name: "region", value: DEFAULT_REGION });
  const button = el("button", { type: "submit", class: "primary" }, "Sign in");

  async function submit(event) {
    event.preventDefault();
    clearError(errors);
    if (!secure) {
      showError(errors, new Error(INSECURE));
      return;
    }
    const creds = {
      accessKeyId: accessKeyId.value.trim(),
      secretAccessKey: secret.value.trim(),
      region: region.value.trim() || DEFAULT_REGION,
    };
    if (!creds.accessKeyId || !creds.secretAccessKey) {
      showError(errors, new Error("Enter an access key ID and a secret access key."));
      return;
    }
    try {
      // any signed call proves the key: AccessDenied means the signature was accepted
      await busy(button, kmsCall("ListKeys", { Limit: 1 }, creds, { region: creds.region }));
    } catch (error) {
      if (!(error instanceof ApiError && error.type === "AccessDeniedException")) {
        clearSigningKeys(); // nothing of a refused key is kept, not even its derived key
        showError(errors, error);
        return;
      }
    }
    saveSession(creds);
    secret.value = "";
    location.hash = "#/keys";
  }

  main.append(
    el("h1", {}, "Sign in to Sealbox"),
    el(
      "p",
      { class: "lead" },
      "Use an access key of this Sealbox server. Each request is signed in this browser; " +
        "the secret stays in this tab's session storage and is never sent to the server.",
    ),
    el(
      "form",
      { class: "signin card", novalidate: true, autocomplete: "off", on: { submit } },
      field("Access key ID", accessKeyId),
      field("Secret access key", secret),
      field("Region", region),
      errors,
      el("div", { class: "actions" }, button),
    ),
  );
  if (!secure) showError(errors, new Error(INSECURE));
}

function renderMissing(main) {
  main.append(
    el("h1", {}, "Page not found"),
    el("p", {}, "There is no such page in the console. ", el("a", { href: "#/keys" }, "Go to the keys"), "."),
  );
}

function settleFocus(main) {
  const heading = main.querySelector("h1");
  const target = heading || main;
  if (heading && !heading.hasAttribute("tabindex")) heading.setAttribute("tabindex", "-1");
  target.focus({ preventScroll: false });
}

function updateTitle(main) {
  const heading = main.querySelector("h1");
  document.title = heading && heading.textContent ? `${heading.textContent} · ${TITLE}` : TITLE;
}

async function render() {
  const route = parseRoute(location.hash);
  const creds = loadSession();
  if (!creds && route.name !== "signin") {
    location.replace("#/signin"); // renders again on hashchange
    return;
  }
  if (creds && (route.name === "signin" || route.name === "home")) {
    location.replace("#/keys");
    return;
  }
  const main = el("main", { id: "main", tabindex: "-1" });
  const header = creds
    ? shellHeader(creds, route, main)
    : el("header", { class: "topbar" }, el("span", { class: "brand" }, "Sealbox"));
  problems.replaceChildren();
  app.replaceChildren(header, problems, main);
  const moveFocus = !firstRender;
  firstRender = false;

  let done = null;
  try {
    if (!creds) renderSignIn(main);
    else if (route.name === "missing") renderMissing(main);
    else {
      const renderer = await PAGES[route.name]();
      if (!main.isConnected) return; // the operator went elsewhere meanwhile
      done = renderer(main, contextFor(creds), route.arg);
    }
  } catch (error) {
    if (!main.querySelector("h1")) main.append(el("h1", {}, "This page could not be shown"));
    main.append(showErrorBox(error));
  }
  updateTitle(main);
  if (moveFocus) settleFocus(main);
  if (done && typeof done.then === "function") {
    try {
      await done;
    } catch (error) {
      main.append(showErrorBox(error));
    }
    updateTitle(main);
  }
}

function showErrorBox(error) {
  const box = el("div", { class: "errors" });
  showError(box, error);
  return box;
}

window.addEventListener("hashchange", () => void render());
window.addEventListener("unhandledrejection", (event) => {
  showError(problems, event.reason);
});
void render();
