// Small REST helpers for specs that check what the relay stored (docs/PROTOCOL.md, REST API).

async function call(method, baseUrl, token, path, body) {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** `GET path` with a session token; throws on a non-2xx answer. */
export const apiGet = (baseUrl, token, path) => call("GET", baseUrl, token, path);

/** `PATCH path` with a JSON body; throws on a non-2xx answer. */
export const apiPatch = (baseUrl, token, path, body) => call("PATCH", baseUrl, token, path, body);
