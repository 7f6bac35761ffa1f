// AWS Signature Version 4 (AWS4-HMAC-SHA256, Authorization-header form) with WebCrypto,
// and kmsCall(): one signed KMS JSON call to this origin. No dependencies, no build step.
//
// The secret never leaves this module except as HMAC input to crypto.subtle; nothing here
// logs, and the cached signing keys are non-extractable CryptoKeys kept in memory only.

const ALGORITHM = "AWS4-HMAC-SHA256";
const TERMINATOR = "aws4_request";
const encoder = new TextEncoder();
const decoder = new TextDecoder(); // replaces invalid UTF-8, like the server's unquote()
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
// Headers the signer adds itself: a caller passing them would sign something else.
const SIGNER_HEADERS = ["authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"];

function hex(buffer) {
  const bytes = new Uint8Array(buffer);
  let out = "";
  for (const byte of bytes) out += HEX[byte];
  return out;
}

function isUnreserved(byte) {
  return (
    (byte >= 0x41 && byte <= 0x5a) || // A-Z
    (byte >= 0x61 && byte <= 0x7a) || // a-z
    (byte >= 0x30 && byte <= 0x39) || // 0-9
    byte === 0x2d || byte === 0x2e || byte === 0x5f || byte === 0x7e // - . _ ~
  );
}

/** RFC 3986 encoding as SigV4 wants it: every byte of the UTF-8 form but A-Za-z0-9-._~
 * becomes %XX (upper-case hex); '/' is kept when keepSlash is set. */
export function uriEncode(text, keepSlash = false) {
  let out = "";
  for (const byte of encoder.encode(text)) {
    if (isUnreserved(byte) || (keepSlash && byte === 0x2f)) out += String.fromCharCode(byte);
    else out += "%" + HEX[byte].toUpperCase();
  }
  return out;
}

/** %XX escapes decoded as UTF-8 (invalid escapes kept as text; '+' stays '+'). */
export function uriDecode(text) {
  if (!text.includes("%")) return text;
  const bytes = [];
  for (let i = 0; i < text.length; i++) {
    const escape = text.slice(i + 1, i + 3);
    if (text[i] === "%" && /^[0-9A-Fa-f]{2}$/.test(escape)) {
      bytes.push(parseInt(escape, 16));
      i += 2;
    } else {
      const code = text.codePointAt(i);
      if (code > 0xffff) i++; // the second half of a surrogate pair
      bytes.push(...encoder.encode(String.fromCodePoint(code)));
    }
  }
  return decoder.decode(new Uint8Array(bytes));
}

/** The canonical URI of a path as sent on the wire. Non-S3 services normalize it (dot
 * segments and empty segments removed) and encode each segment again ("double encoding");
 * S3 takes the wire path as it is. */
export function canonicalUri(path, { normalize = true, doubleEncode = true } = {}) {
  let result = path || "/";
  if (normalize && result !== "/") {
    const segments = [];
    for (const segment of result.split("/")) {
      if (segment === "" || segment === ".") continue;
      if (segment === "..") segments.pop();
      else segments.push(segment);
    }
    const trailing = result.endsWith("/") && segments.length ? "/" : "";
    result = "/" + segments.join("/") + trailing;
  }
  return doubleEncode ? result.split("/").map((s) => uriEncode(s)).join("/") : result;
}

/** The canonical query string: each name and value decoded then encoded, sorted by name
 * then value; a name without '=' gets an empty value. */
export function canonicalQuery(query) {
  if (!query) return "";
  const pairs = query.split("&").map((item) => {
    const at = item.indexOf("=");
    const name = at < 0 ? item : item.slice(0, at);
    const value = at < 0 ? "" : item.slice(at + 1);
    return [uriEncode(uriDecode(name)), uriEncode(uriDecode(value))];
  });
  const order = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
  pairs.sort((a, b) => order(a[0], b[0]) || order(a[1], b[1]));
  return pairs.map(([name, value]) => `${name}=${value}`).join("&");
}

/** (name, value) pairs from a plain object, a Headers object or an array of pairs
 * (an array keeps repeated names, which SigV4 joins with commas). */
function headerPairs(headers) {
  if (!headers) return [];
  let entries;
  if (Array.isArray(headers)) entries = headers;
  else if (typeof headers.entries === "function") entries = Array.from(headers.entries()); // Headers, Map
  else entries = Object.entries(headers);
  return entries.map(([name, value]) => [String(name), String(value)]);
}

/** Header names (lower case, sorted) and their canonical values: each value trimmed with
 * inner whitespace runs collapsed to one space, repeated names comma-joined in order. */
export function canonicalHeaders(pairs) {
  const values = new Map();
  for (const [name, value] of pairs) {
    const key = name.toLowerCase();
    const clean = value.trim().replace(/\s+/g, " ");
    values.set(key, values.has(key) ? `${values.get(key)},${clean}` : clean);
  }
  const names = Array.from(values.keys()).sort();
  return {
    signedHeaders: names.join(";"),
    block: names.map((name) => `${name}:${values.get(name)}\n`).join(""),
  };
}

export function canonicalRequest({ method, path, query, headers, payloadHash, normalize, doubleEncode }) {
  const { signedHeaders, block } = canonicalHeaders(headerPairs(headers));
  return [
    method.toUpperCase(),
    canonicalUri(path, { normalize, doubleEncode }),
    canonicalQuery(query),
    block,
    signedHeaders,
    payloadHash,
  ].join("\n");
}

export async function sha256Hex(data) {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  return hex(await crypto.subtle.digest("SHA-256", bytes));
}

export async function stringToSign(amzDate, scope, canonical) {
  return [ALGORITHM, amzDate, scope, await sha256Hex(canonical)].join("\n");
}

async function hmacKey(raw, extractable) {
  return crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, extractable, ["sign"]);
}

async function hmac(key, text) {
  return crypto.subtle.sign("HMAC", key, encoder.encode(text));
}

// A few (secret, date, region, service) entries: a console signs with one key at a time.
const KEY_CACHE_SIZE = 8;
const keyCache = new Map();

/** The SigV4 signing key as a non-extractable HMAC CryptoKey, cached in memory. */
export async function signingKey(secretAccessKey, date, region, service) {
  const cacheKey = JSON.stringify([secretAccessKey, date, region, service]);
  const cached = keyCache.get(cacheKey);
  if (cached) return cached;
  let raw = encoder.encode("AWS4" + secretAccessKey);
  for (const part of [date, region, service]) {
    raw = await hmac(await hmacKey(raw, false), part);
  }
  const key = await hmacKey(await hmac(await hmacKey(raw, false), TERMINATOR), false);
  if (keyCache.size >= KEY_CACHE_SIZE) keyCache.delete(keyCache.keys().next().value);
  keyCache.set(cacheKey, key);
  return key;
}

/** Forget every cached signing key (on sign-out). */
export function clearSigningKeys() {
  keyCache.clear();
}

export async function signature(key, toSign) {
  return hex(await hmac(key, toSign));
}

/** YYYYMMDD'T'HHMMSS'Z' of a Date (default: now). */
export function amzDate(date = new Date()) {
  return date.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

function splitUrl(url) {
  let rest = url.split("#")[0];
  let host = null;
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(rest);
  if (scheme) {
    rest = rest.slice(scheme[0].length);
    const slash = rest.search(/[/?]/);
    host = slash < 0 ? rest : rest.slice(0, slash);
    rest = slash < 0 ? "/" : rest.slice(slash);
    host = new URL(scheme[0] + host).host; // lower-cased, default port dropped
  }
  const at = rest.indexOf("?");
  return { host, path: at < 0 ? rest : rest.slice(0, at), query: at < 0 ? "" : rest.slice(at + 1) };
}

function bodyBytes(body) {
  if (body === undefined || body === null) return new Uint8Array(0);
  if (typeof body === "string") return encoder.encode(body);
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  throw new TypeError("body must be a string, an ArrayBuffer or a typed array");
}

/** Every step of signing one request; signRequest() returns only .headers.
 *
 * url: "/path?query" or "scheme://host/path?query", the path as it goes on the wire.
 * headers: the request's headers to sign (an object, a Headers, or [name, value] pairs);
 *   Host comes from the URL or location.host when absent (browsers set it themselves).
 * date: a Date (default now). signBody: also send X-Amz-Content-Sha256.
 * normalizePath / doubleEncode: default true, false for S3. */
export async function signatureParts({
  method = "GET",
  url,
  headers,
  body,
  accessKeyId,
  secretAccessKey,
  sessionToken,
  region,
  service,
  date,
  signBody = false,
  normalizePath = service !== "s3",
  doubleEncode = service !== "s3",
}) {
  if (!accessKeyId || !secretAccessKey) throw new Error("an access key id and secret are required");
  if (!region || !service) throw new Error("a region and a service are required");
  const parts = splitUrl(url);
  const pairs = headerPairs(headers);
  for (const [name] of pairs) {
    if (SIGNER_HEADERS.includes(name.toLowerCase())) throw new Error(`the signer sets ${name} itself`);
  }
  if (!pairs.some(([name]) => name.toLowerCase() === "host")) {
    const host = parts.host ?? globalThis.location?.host;
    if (!host) throw new Error("no Host: give an absolute URL or a Host header");
    pairs.push(["host", host]);
  }
  const stamp = amzDate(date ?? new Date());
  const payloadHash = await sha256Hex(bodyBytes(body));
  const added = { "X-Amz-Date": stamp };
  if (sessionToken) added["X-Amz-Security-Token"] = sessionToken;
  if (signBody) added["X-Amz-Content-Sha256"] = payloadHash;
  const signedPairs = pairs.concat(Object.entries(added));
  const canonical = canonicalRequest({
    method,
    path: parts.path,
    query: parts.query,
    headers: signedPairs,
    payloadHash,
    normalize: normalizePath,
    doubleEncode,
  });
  const scope = `${stamp.slice(0, 8)}/${region}/${service}/${TERMINATOR}`;
  const toSign = await stringToSign(stamp, scope, canonical);
  const key = await signingKey(secretAccessKey, stamp.slice(0, 8), region, service);
  const sig = await signature(key, toSign);
  const { signedHeaders } = canonicalHeaders(signedPairs);
  const authorization =
    `${ALGORITHM} Credential=${accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${sig}`;
  return {
    amzDate: stamp,
    scope,
    canonicalRequest: canonical,
    stringToSign: toSign,
    signature: sig,
    authorization,
    headers: { ...added, Authorization: authorization },
  };
}

/** The headers to add to the request: X-Amz-Date, Authorization, and X-Amz-Security-Token
 * (with a session token) and X-Amz-Content-Sha256 (with signBody) when they apply. */
export async function signRequest(args) {
  return (await signatureParts(args)).headers;
}

/** An error answered by the API: .type is the short __type (after '#'), .message the
 * API's message exactly as sent, .status the HTTP status. */
export class ApiError extends Error {
  constructor(type, message, status) {
    super(message);
    this.name = "ApiError";
    this.type = type;
    this.status = status;
  }
}

function apiError(status, responseHeaders, text) {
  let document = null;
  try {
    document = JSON.parse(text);
  } catch {
    // not JSON (a proxy's page, say): shown as it came
  }
  const rawType =
    (document && typeof document.__type === "string" && document.__type) ||
    (responseHeaders.get("x-amzn-errortype") || "").split(":")[0] ||
    `HTTP ${status}`;
  const type = rawType.slice(rawType.lastIndexOf("#") + 1);
  let message = text;
  if (document && typeof document === "object") {
    message = typeof document.message === "string" ? document.message
      : typeof document.Message === "string" ? document.Message : "";
  }
  return new ApiError(type, message, status);
}

/** POST one KMS JSON call to this origin, signed with creds ({accessKeyId, secretAccessKey,
 * sessionToken?}). target: "TrentService.ListKeys", or "ListKeys" for TrentService.
 * Returns the parsed answer, or throws ApiError with the API's own type and message. */
export async function kmsCall(target, payload, creds, { endpoint = "/", region = "us-east-1", date } = {}) {
  const fullTarget = target.includes(".") ? target : `TrentService.${target}`;
  const url = new URL(endpoint, globalThis.location?.href);
  const body = JSON.stringify(payload ?? {});
  const headers = {
    "Content-Type": "application/x-amz-json-1.1",
    "X-Amz-Target": fullTarget,
  };
  const signed = await signRequest({
    method: "POST",
    url: url.href,
    headers: { ...headers, Host: url.host },
    body,
    accessKeyId: creds.accessKeyId,
    secretAccessKey: creds.secretAccessKey,
    sessionToken: creds.sessionToken,
    region,
    service: "kms",
    date,
  });
  const response = await fetch(url.href, {
    method: "POST",
    headers: { ...headers, ...signed },
    body,
    credentials: "omit",
    cache: "no-store",
    redirect: "error",
    referrerPolicy: "no-referrer",
  });
  const text = await response.text();
  if (!response.ok) throw apiError(response.status, response.headers, text);
  return text ? JSON.parse(text) : {};
}
