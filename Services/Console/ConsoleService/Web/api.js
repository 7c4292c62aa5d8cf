// Calls a service's API through the console (/api/<service>/…) with the admin token.

export function token() { return sessionStorage.getItem("vectis-admin-token"); }

export function setToken(value) {
  if (value) sessionStorage.setItem("vectis-admin-token", value);
  else sessionStorage.removeItem("vectis-admin-token");
}

/// Returns { status, body } — body parsed from JSON when it is JSON. Throws only when the console itself
/// cannot be reached; a service's refusal comes back as its status and its `{"error": …}`.
export async function api(service, path, { method = "GET", body, quiet = false } = {}) {
  const headers = { Accept: "application/json" };
  if (token()) headers.Authorization = `Bearer ${token()}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(`/api/${service}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  let parsed = text;
  try { parsed = text ? JSON.parse(text) : null; } catch { /* not JSON: keep the text */ }
  if (response.status === 401 && !quiet) {
    setToken(null);
    window.dispatchEvent(new HashChangeEvent("hashchange"));
  }
  return { status: response.status, body: parsed };
}

/// The body of a successful answer, or an Error carrying the service's own message.
/// An image (or other binary) a service answers, as an object URL an <img> can show: the token goes in a header,
/// which an <img src> cannot send. Null when the service refuses.
export async function objectURL(service, path) {
  const headers = token() ? { Authorization: `Bearer ${token()}` } : {};
  const response = await fetch(`/api/${service}${path}`, { headers });
  if (!response.ok) return null;
  return URL.createObjectURL(await response.blob());
}

export async function get(service, path) {
  const answer = await api(service, path);
  if (answer.status >= 400) throw new Error(answer.body?.error ?? `vectis-${service} answered ${answer.status}`);
  return answer.body;
}

/// Fetches one of the console's own routes (not a service's) with the token, as a file to save: { ok, blob, name }
/// or { ok: false, error } in the route's own words.
export async function fetchFile(path) {
  const headers = token() ? { Authorization: `Bearer ${token()}` } : {};
  const response = await fetch(path, { headers });
  if (!response.ok) {
    let error = `The console answered ${response.status}`;
    try { error = (await response.json()).error ?? error; } catch { /* not JSON */ }
    return { ok: false, error };
  }
  const disposition = response.headers.get("Content-Disposition") ?? "";
  return { ok: true, blob: await response.blob(), name: disposition.match(/filename="([^"]+)"/)?.[1] };
}
