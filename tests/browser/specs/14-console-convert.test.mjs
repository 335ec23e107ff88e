// Console spec 4 (issue 4, "done when" 4): "convert to ticket" in a chat pane stores a ticket
// with the chosen category, priority and support level and the chat's transcript; the chat
// leaves the agent's list, the agent sees the ticket number and the visitor's chat ends.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { Harness, TEST_TIMEOUT, until } from "../lib/harness.mjs";
import { addAgent } from "../lib/relay.mjs";
import { login } from "../lib/agent.mjs";
import { ScriptedVisitor } from "../lib/visitor.mjs";
import { ctid, openConsole, load, paneOf, expectPaneMessage, reply } from "../lib/console.mjs";
import { apiGet } from "../lib/api.mjs";

const h = new Harness("14-console-convert");
const ANNA = { email: "anna@acme-brandschutz.example", name: "Anna Beispiel", password: "anna-geheim-123" };
before(async () => {
  await h.setup();
  await addAgent(h.relay.dataDir, { ...ANNA, maxChats: 2 });
}, { timeout: TEST_TIMEOUT });
after(() => h.teardown(), { timeout: TEST_TIMEOUT });

h.test("converting a chat stores a ticket with the chosen category, priority, level and the transcript; the chat leaves the console", async () => {
  const anna = await openConsole(h, ANNA, { ctx: await h.context() });
  const visitor = h.track(await ScriptedVisitor.start(h.relay.url, { name: "Jonas Kunde" }));
  const pane = paneOf(anna, "Jonas Kunde");
  visitor.send("Meine Rechnung vom März ist doppelt abgebucht worden.");
  await expectPaneMessage(pane, "Meine Rechnung vom März ist doppelt abgebucht worden.", "visitor");
  await reply(pane, "Das prüfe ich, Sie bekommen ein Ticket.");
  await expectPaneMessage(pane, "Das prüfe ich, Sie bekommen ein Ticket.", "agent");
  assert.equal(await load(anna), "1 / 2");

  await pane.locator('[data-testid="cs-convert"]').click();
  const form = pane.locator('[data-testid="cs-convert-form"]');
  // The categories come from the relay's configured list.
  await until(async () => (await form.locator('[data-testid="cs-convert-category"] option').count()) >= 2,
    { message: "the category list is loaded" });
  await form.locator('[data-testid="cs-convert-category"]').selectOption("billing_question");
  await form.locator('[data-testid="cs-convert-priority"]').selectOption("high");
  await form.locator('[data-testid="cs-convert-level"]').selectOption("L2");
  await form.locator('[data-testid="cs-convert-summary"]').fill("Doppelte Abbuchung der Märzrechnung");
  await form.locator('[data-testid="cs-convert-submit"]').click();

  const notice = ctid(anna, "cs-ticket-notice");
  await notice.waitFor({ state: "visible" });
  const ticketId = Number(await notice.getAttribute("data-ticket-id"));
  assert.ok(ticketId > 0, "the notice carries the ticket number");
  assert.match(await notice.textContent(), new RegExp(`#${ticketId}\\b`), "the agent sees the ticket number");
  await until(async () => (await ctid(anna, "cs-chat").count()) === 0, { message: "the chat left Anna's list" });
  await until(async () => (await load(anna)) === "0 / 2", { message: 'Anna\'s load is back to "0 / 2"' });
  await visitor.waitFor((f) => f.type === "event" && f.event?.kind === "ended", "the visitor's chat ended");

  const { token } = await login(h.relay.url, ANNA);
  const { ticket, transcript } = await apiGet(h.relay.url, token, `/api/v1/tickets/${ticketId}`);
  assert.equal(ticket.conversation_id, visitor.conv);
  assert.equal(ticket.category, "billing_question");
  assert.equal(ticket.priority, "high");
  assert.equal(ticket.support_level, "L2");
  assert.equal(ticket.channel, "live_chat");
  const bodies = (transcript ?? []).filter((e) => e.event?.kind === "message").map((e) => e.event.body);
  assert.deepEqual(bodies, ["Meine Rechnung vom März ist doppelt abgebucht worden.",
    "Das prüfe ich, Sie bekommen ein Ticket."], "the ticket holds the chat's transcript");
  assert.match(`${ticket.subject} ${ticket.description}`, /Doppelte Abbuchung/, "the summary is stored");
  assert.deepEqual(anna.rec.errors, [], "no uncaught errors in the console");
});
