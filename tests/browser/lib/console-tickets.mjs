// The console's ticket views and reports dashboard by their data-testid contract (tk-*,
// rp-*), and the REST reads a spec checks them against (docs/TICKETS.md, docs/REPORTS.md).
import { until } from "./harness.mjs";
import { ctid } from "./console.mjs";
import { apiGet } from "./api.mjs";
import { tid, openWidget } from "./widget.mjs";

/** Leaves a message through the widget's offline form on /acme/ (nobody may be online). */
export async function leaveOfflineMessage(h, { name, email, message }) {
  const page = await h.page(await h.context());
  await page.goto(`${h.relay.url}/acme/`);
  await openWidget(page);
  await tid(page, "sb-offline").waitFor({ state: "visible", timeout: 15_000 });
  await tid(page, "sb-offline-name").fill(name);
  await tid(page, "sb-offline-email").fill(email);
  await tid(page, "sb-offline-message").fill(message);
  await tid(page, "sb-offline-submit").click();
  await tid(page, "sb-offline-done").waitFor({ state: "visible", timeout: 10_000 });
  return page;
}

/** The ticket the relay made for this customer (waits until it is listed). */
export async function ticketOf(baseUrl, token, customerName) {
  return until(async () => {
    const { tickets } = await apiGet(baseUrl, token, `/api/v1/tickets?q=${encodeURIComponent(customerName)}`);
    return tickets.find((t) => t.customer_name === customerName);
  }, { message: `a ticket for ${customerName}` });
}

/** `GET /api/v1/tickets/{id}` → `{ticket, history, tags, rating, transcript}`. */
export const ticketDetail = (baseUrl, token, id) => apiGet(baseUrl, token, `/api/v1/tickets/${id}`);

/** Switches the console to the ticket list and waits for it. */
export async function openTicketList(page) {
  await ctid(page, "cs-tickets-toggle").click();
  await ctid(page, "tk-list").waitFor({ state: "visible" });
}

/** The rows shown, as {id, priority, status, sla, due}. */
export function listedTickets(page) {
  return page.locator('[data-testid="tk-row"]').evaluateAll((rows) => rows.map((r) => ({
    id: Number(r.getAttribute("data-ticket-id")), priority: r.getAttribute("data-priority"),
    status: r.getAttribute("data-status"), sla: r.getAttribute("data-sla"),
    due: r.querySelector('[data-testid="tk-due"]')?.textContent ?? "",
  })));
}

/** Waits until the open ticket's history shows an entry of `kind` whose text contains `text`. */
export async function expectHistory(page, kind, text = "") {
  const entry = page.locator(`[data-testid="tk-history-entry"][data-kind="${kind}"]`, { hasText: text });
  await until(async () => (await entry.count()) === 1,
    { message: `one "${kind}" entry with "${text}" in the ticket's timeline` });
}

/** Waits until a header field (tk-status, tk-level, …) carries this value. */
export async function expectField(page, testid, value) {
  await until(async () => (await ctid(page, testid).getAttribute("data-value")) === value,
    { message: `${testid} shows ${value}` });
}
