// The signed-in operator's credentials: in this tab's sessionStorage only (gone when the
// tab closes; never localStorage, never a cookie). They leave the tab only as the input of
// SigV4 signatures (sigv4.js); the secret itself is never sent anywhere.

import { clearSigningKeys } from "./sigv4.js";

export const STORAGE_KEY = "sealbox.console.credentials";
export const DEFAULT_REGION = "us-east-1";

function valid(creds) {
  return (
    creds !== null &&
    typeof creds === "object" &&
    typeof creds.accessKeyId === "string" &&
    creds.accessKeyId !== "" &&
    typeof creds.secretAccessKey === "string" &&
    creds.secretAccessKey !== "" &&
    typeof creds.region === "string" &&
    creds.region !== ""
  );
}

/** {accessKeyId, secretAccessKey, region}, or null when not signed in. */
export function loadSession() {
  let stored = null;
  try {
    stored = JSON.parse(sessionStorage.getItem(STORAGE_KEY) || "null");
  } catch {
    stored = null;
  }
  if (!valid(stored)) {
    sessionStorage.removeItem(STORAGE_KEY);
    return null;
  }
  const { accessKeyId, secretAccessKey, region } = stored;
  return { accessKeyId, secretAccessKey, region };
}

export function saveSession({ accessKeyId, secretAccessKey, region }) {
  const creds = { accessKeyId, secretAccessKey, region: region || DEFAULT_REGION };
  if (!valid(creds)) throw new Error("an access key ID, a secret access key and a region are required");
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(creds));
  return creds;
}

/** Sign out: the stored credentials and the signing keys derived from them are forgotten. */
export function clearSession() {
  sessionStorage.removeItem(STORAGE_KEY);
  clearSigningKeys();
}
