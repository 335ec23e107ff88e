// Issue 5, done-when: offline form → ticket → the team replies → the visitor sees the reply in
// the widget (the next time, with the same visitor token, and live while the panel is open)
// → the ticket is resolved → the visitor rates it (CSAT 1–5 with a comment).
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { Harness, TEST_TIMEOUT, until } from "../lib/harness.mjs";
import { DEMO_ADMIN, login } from "../lib/agent.mjs";
import { tid, openWidget } from "../lib/widget.mjs";
import { getTicket, patchTicket, replyToTicket, ticketWithDescription } from "../lib/tickets.mjs";

const h = new Harness("17-ticket-reply");
let token;
before(async () => {
  await h.setup();
  ({ token } = await login(h.relay.url, DEMO_ADMIN));
}, { timeout: TEST_TIMEOUT });
after(() => h.teardown(), { timeout: TEST_TIMEOUT });

/** With nobody online: the offline form, submitted; resolves once it says thank you. */
async function leaveMessage(page, { email, body }) {
  await page.goto(`${h.relay.url}/acme/`);
  await openWidget(page);
  await tid(page, "sb-offline").waitFor({ state: "visible", timeout: 15_000 });
  await tid(page, "sb-offline-name").fill("Olga Offline");
  await tid(page, "sb-offline-email").fill(email);
  await tid(page, "sb-offline-message").fill(body);
  await tid(page, "sb-offline-submit").click();
  await tid(page, "sb-offline-done").waitFor({ state: "visible", timeout: 10_000 });
}

// The team's replies, drawn inside the ticket like agent messages.
const replyRows = (page) => tid(page, "sb-tickets").locator('[data-testid="sb-msg"][data-author="agent"]');
const replies = (page) => replyRows(page).evaluateAll((els) => els.map((e) => e.textContent));

h.test("a reply to an offline message reaches the visitor on the next visit, and the resolved ticket is rated", async () => {
  const page = await h.page();
  const body = "Bitte um Rückruf wegen der Wartung der Brandmeldeanlage.";
  await leaveMessage(page, { email: "olga@example.de", body });
  await tid(page, "sb-close").click();
  await tid(page, "sb-panel").waitFor({ state: "hidden" });

  const ticket = await ticketWithDescription(h.relay.url, token, body);
  const answer = "Wir kommen am Montag um 9 Uhr vorbei.";
  await replyToTicket(h.relay.url, token, ticket.id, answer);

  // The next page view, same browser (same visitor token): the badge shows the reply before
  // the panel is opened, and the panel shows it under "your requests".
  await page.reload();
  await until(async () => (await tid(page, "sb-badge").textContent()) === "1",
    { timeout: 15_000, message: "the launcher's badge to count the reply" });
  await openWidget(page);
  const card = page.locator(`[data-testid="sb-ticket"][data-ticket="${ticket.id}"]`);
  await card.waitFor({ state: "visible", timeout: 10_000 });
  await until(async () => (await replies(page)).some((t) => t.includes(answer)),
    { message: `the reply "${answer}" in the widget (shown: ${JSON.stringify(await replies(page))})` });
  assert.match(await replyRows(page).first().textContent(), /Demo Agent/, "the reply names its author");
  assert.equal(await tid(page, "sb-ticket-rating").count(), 0, "no rating before the ticket is resolved");
  await until(async () => await tid(page, "sb-badge").isHidden(), { message: "the badge to clear once shown" });

  // Seen stays seen on the next page view.
  await page.reload();
  await page.waitForTimeout(1_500);
  assert.ok(await tid(page, "sb-badge").isHidden(), "no badge for a reply already seen");

  // Resolved while the widget is open: it asks for a rating at once.
  await openWidget(page);
  await card.waitFor({ state: "visible", timeout: 10_000 });
  await patchTicket(h.relay.url, token, ticket.id, { status: "resolved" });
  const form = card.locator('[data-testid="sb-ticket-rating"]');
  await form.waitFor({ state: "visible", timeout: 10_000 });
  assert.match(await card.locator('[data-testid="sb-ticket-status"]').textContent(), /Resolved|Gelöst/);
  await form.locator('[data-testid="sb-rate-4"]').click();
  await form.locator('[data-testid="sb-rate-comment"]').fill("Schnell und freundlich");
  await form.locator('[data-testid="sb-rate-submit"]').click();
  await card.locator('[data-testid="sb-ticket-rated"]').waitFor({ state: "visible", timeout: 10_000 });

  await until(async () => (await getTicket(h.relay.url, token, ticket.id)).rating?.score === 4,
    { message: "the rating stored on the ticket" });
  const stored = await getTicket(h.relay.url, token, ticket.id);
  assert.equal(stored.rating.score, 4);
  assert.equal(stored.rating.comment, "Schnell und freundlich");

  // Rated once: the next page view thanks instead of asking again.
  await page.reload();
  await openWidget(page);
  await card.locator('[data-testid="sb-ticket-rated"]').waitFor({ state: "visible", timeout: 10_000 });
  assert.equal(await tid(page, "sb-ticket-rating").count(), 0, "not asked twice");
  assert.deepEqual(page.rec.errors, [], "no uncaught errors on the page");
});

h.test("a reply arriving while the panel is open shows at once and leaves no badge", async () => {
  const page = await h.page(); // a new context: another visitor
  const body = "Brauche ein Angebot für 12 Feuerlöscher.";
  await leaveMessage(page, { email: "live@example.de", body });
  const ticket = await ticketWithDescription(h.relay.url, token, body);

  // The relay pushes the visitor's ticket list when a ticket changes; the reply is one.
  const answer = "Das Angebot kommt heute per E-Mail.";
  await replyToTicket(h.relay.url, token, ticket.id, answer);
  await until(async () => (await replies(page)).some((t) => t.includes(answer)),
    { message: `the live reply "${answer}" (shown: ${JSON.stringify(await replies(page))})` });
  assert.equal(await page.locator(`[data-testid="sb-ticket"][data-ticket="${ticket.id}"]`).count(), 1);
  assert.equal(await tid(page, "sb-tickets").locator("h2").count(), 1, "under one 'your requests' heading");

  await tid(page, "sb-close").click();
  await page.waitForTimeout(700);
  assert.ok(await tid(page, "sb-badge").isHidden(), "a reply seen in the open panel is not unread");
  assert.deepEqual(page.rec.errors, [], "no uncaught errors on the page");
});
