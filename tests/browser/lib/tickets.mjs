// REST helpers for ticket specs (docs/TICKETS.md, REST API): find the ticket a visitor's
// offline message became, reply as the team, change its status, read it back; and change a
// site's widget settings (PATCH /sites/{id}, admins).
import { until } from "./harness.mjs";

async function call(method, baseUrl, token, path, body) {
  const res = await fetch(`${baseUrl}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** Waits for the ticket whose description is `body` (an offline message); returns it. */
export async function ticketWithDescription(baseUrl, token, body, timeout = 10_000) {
  let found = null;
  await until(async () => {
    const { tickets } = await call("GET", baseUrl, token, "/tickets?limit=200");
    found = tickets.find((t) => t.description === body) ?? null;
    return found;
  }, { timeout, message: `a ticket with the description ${JSON.stringify(body)}` });
  return found;
}

/** `POST /tickets/{id}/replies`: a public reply the customer sees. */
export const replyToTicket = (baseUrl, token, id, body) =>
  call("POST", baseUrl, token, `/tickets/${id}/replies`, { body });

/** `PATCH /tickets/{id}` with e.g. `{status: "resolved"}`. */
export const patchTicket = (baseUrl, token, id, patch) => call("PATCH", baseUrl, token, `/tickets/${id}`, patch);

/** `GET /tickets/{id}` → `{ticket, history, tags, rating, transcript}`. */
export const getTicket = (baseUrl, token, id) => call("GET", baseUrl, token, `/tickets/${id}`);

/** `PATCH /sites/{id}` (admins): accent, position, greeting, offline_behaviour, … */
export const patchSite = (baseUrl, token, id, patch) => call("PATCH", baseUrl, token, `/sites/${id}`, patch);
