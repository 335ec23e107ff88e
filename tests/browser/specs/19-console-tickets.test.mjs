// Console spec (issue 5, "Console"): an agent works a ticket that came from the widget's
// offline form — list filtered by priority, detail, internal note, public reply, status
// pending_customer → resolved, escalation with a reason, a refused input shown as an error —
// and every change is in the ticket's stored history. An admin sees the reports dashboard
// with the ticket volume and downloads the CSV export.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { Harness, TEST_TIMEOUT, until } from "../lib/harness.mjs";
import { addAgent } from "../lib/relay.mjs";
import { DEMO_ADMIN, login } from "../lib/agent.mjs";
import { ctid, openConsole } from "../lib/console.mjs";
import { apiPatch } from "../lib/api.mjs";
import { ARTIFACTS } from "../lib/env.mjs";
import {
  leaveOfflineMessage, ticketOf, ticketDetail, openTicketList, listedTickets, expectHistory, expectField,
} from "../lib/console-tickets.mjs";

const h = new Harness("19-console-tickets");
const ANNA = { email: "anna@acme-brandschutz.example", name: "Anna Beispiel", password: "anna-geheim-123" };
const OLGA = { name: "Olga Offline", email: "olga@example.de",
  message: "Rauchmelder piept nachts\nDer Rauchmelder im Flur piept seit gestern alle 30 Sekunden." };
const PAUL = { name: "Paul Später", email: "paul@example.de", message: "Bitte Angebot für 20 Feuerlöscher" };
let olgaTicket, paulTicket;

before(async () => {
  await h.setup();
  await addAgent(h.relay.dataDir, { ...ANNA, maxChats: 2 });
  // Nobody is online yet: both visitors get the offline form, and each message is a ticket.
  await leaveOfflineMessage(h, OLGA);
  await leaveOfflineMessage(h, PAUL);
  const { token } = await login(h.relay.url, ANNA);
  olgaTicket = await ticketOf(h.relay.url, token, OLGA.name);
  paulTicket = await ticketOf(h.relay.url, token, PAUL.name);
  await apiPatch(h.relay.url, token, `/api/v1/tickets/${paulTicket.id}`, { priority: "low" });
}, { timeout: TEST_TIMEOUT });
after(() => h.teardown(), { timeout: TEST_TIMEOUT });

h.test("an agent filters the ticket list, opens the offline-form ticket and works it; every change is stored", async () => {
  const anna = await openConsole(h, ANNA, { ctx: await h.context() });
  await openTicketList(anna);
  await until(async () => (await listedTickets(anna)).length === 2, { message: "both tickets listed" });
  const olga = (await listedTickets(anna)).find((t) => t.id === olgaTicket.id);
  assert.equal(olga.status, "new");
  assert.match(olga.due, /^(in \d+ (min|h|d)|now|overdue by \d+ (min|h|d))/, `a relative due time (${olga.due})`);

  // German: the same list in the other language, due times included.
  await ctid(anna, "cs-lang").click();
  await until(async () => (await anna.locator("html").getAttribute("lang")) === "de", { message: "console in German" });
  const row = anna.locator(`[data-testid="tk-row"][data-ticket-id="${olgaTicket.id}"]`);
  assert.match(await row.locator('[data-testid="tk-due"]').textContent(),
    /^(in \d+ (min|h|Tg\.)|jetzt|überfällig seit \d+ (min|h|Tg\.))$/);
  const cells = await row.locator("td").allTextContents();
  for (const text of ["neu", "mittel", "Technisches Problem"]) assert.ok(cells.includes(text), `"${text}" in ${cells}`);
  await ctid(anna, "cs-lang").click();
  await until(async () => (await anna.locator("html").getAttribute("lang")) === "en", { message: "console in English" });

  await ctid(anna, "tk-filter-priority").selectOption("medium");
  await until(async () => {
    const rows = await listedTickets(anna);
    return rows.length === 1 && rows[0].id === olgaTicket.id && rows[0].priority === "medium";
  }, { message: "only Olga's medium ticket is listed after filtering by priority" });

  await anna.locator(`[data-testid="tk-row"][data-ticket-id="${olgaTicket.id}"]`).click();
  const detail = ctid(anna, "tk-detail");
  await detail.waitFor({ state: "visible" });
  await until(async () => /Rauchmelder piept nachts/.test(await ctid(anna, "tk-subject").textContent()),
    { message: "the subject in the header" });
  assert.match(await ctid(anna, "tk-customer").textContent(), /Olga Offline · olga@example\.de/);
  assert.equal(await ctid(anna, "tk-channel").getAttribute("data-value"), "offline_form");
  await expectHistory(anna, "created");

  // Internal note and public reply.
  await ctid(anna, "tk-note-input").fill("Kundin hat zwei Melder, Batterie prüfen.");
  await ctid(anna, "tk-note-add").click();
  await expectHistory(anna, "note", "Batterie prüfen");
  await ctid(anna, "tk-reply-input").fill("Bitte tauschen Sie die 9-V-Batterie; melden Sie sich, falls es weiter piept.");
  await ctid(anna, "tk-reply-send").click();
  await expectHistory(anna, "reply", "9-V-Batterie");
  await expectField(anna, "tk-status", "open"); // the first reply opens a new ticket

  // Anna takes the ticket (the agents come from GET /agents).
  const annaId = (await login(h.relay.url, ANNA)).agent.id;
  await until(async () => (await ctid(anna, "tk-assignee-select").locator(`option[value="${annaId}"]`).count()) === 1,
    { message: "Anna among the assignees" });
  await ctid(anna, "tk-assignee-select").selectOption(String(annaId));
  await expectField(anna, "tk-assignee", String(annaId));
  await expectHistory(anna, "assigned", "Anna Beispiel");

  // Status: pending on the customer (the SLA pauses), then resolved.
  await ctid(anna, "tk-status-select").selectOption("pending_customer");
  await ctid(anna, "tk-status-apply").click();
  await expectField(anna, "tk-status", "pending_customer");
  assert.equal(await ctid(anna, "tk-sla-resolution").getAttribute("data-state"), "paused");
  await ctid(anna, "tk-status-select").selectOption("resolved");
  await ctid(anna, "tk-status-apply").click();
  await expectField(anna, "tk-status", "resolved");

  // A reason of blanks is refused by the relay (422) and the agent is told so.
  await ctid(anna, "tk-escalate-reason").fill("   ");
  await ctid(anna, "tk-escalate").click();
  await until(async () => (await ctid(anna, "tk-error").getAttribute("data-status")) === "422",
    { message: "the 422 shown in the detail" });
  assert.match(await ctid(anna, "tk-error").textContent(), /^Invalid input: .*reason: message body is empty/);
  await ctid(anna, "tk-escalate-reason").fill("Melder defekt, Techniker vor Ort nötig");
  await ctid(anna, "tk-escalate").click();
  await expectField(anna, "tk-level", "L2");
  await expectHistory(anna, "escalated", "Techniker vor Ort");
  assert.equal(await ctid(anna, "tk-error").count(), 0, "the error is gone after a successful change");

  // Tags: stored lower-case and sorted.
  await ctid(anna, "tk-tags-input").fill("Wartung, rückruf");
  await ctid(anna, "tk-tags-save").click();
  await expectHistory(anna, "tags_changed", "rückruf, wartung");

  mkdirSync(ARTIFACTS, { recursive: true });
  await anna.screenshot({ path: path.join(ARTIFACTS, "console-ticket-detail.png"), fullPage: true });

  // What the relay stored, in order.
  const { token } = await login(h.relay.url, ANNA);
  const { ticket, history, tags } = await ticketDetail(h.relay.url, token, olgaTicket.id);
  assert.deepEqual(tags, ["rückruf", "wartung"]);
  assert.equal(ticket.status, "resolved");
  assert.equal(ticket.support_level, "L2");
  assert.ok(ticket.first_response_at, "the reply met the first response");
  const kinds = history.map((e) => e.kind === "status_changed" ? `status:${e.to}` : e.kind);
  assert.deepEqual(kinds, ["created", "note", "reply", "status:open", "assigned", "status:pending_customer",
    "status:resolved", "escalated", "tags_changed"]);
  const by = (kind) => history.find((e) => e.kind === kind);
  assert.equal(by("note").body, "Kundin hat zwei Melder, Batterie prüfen.");
  assert.equal(by("reply").body, "Bitte tauschen Sie die 9-V-Batterie; melden Sie sich, falls es weiter piept.");
  assert.deepEqual([by("assigned").from, by("assigned").to], [null, annaId]);
  assert.deepEqual([by("escalated").from, by("escalated").to, by("escalated").reason],
    ["L1", "L2", "Melder defekt, Techniker vor Ort nötig"]);
  assert.ok(history.slice(1).every((e) => e.agent_id === annaId), "every change is Anna's");

  // Back to the list: the filter is kept, the ticket shows its new state.
  await ctid(anna, "tk-back").click();
  await until(async () => (await listedTickets(anna)).some((t) => t.id === olgaTicket.id && t.status === "resolved"),
    { message: "the list shows the ticket resolved" });
  const onlyListed = async (id, what) => until(async () => {
    const rows = await listedTickets(anna);
    return rows.length === 1 && rows[0].id === id;
  }, { message: `only ticket ${id} listed (${what})` });
  await ctid(anna, "tk-filter-reset").click();
  await until(async () => (await listedTickets(anna)).length === 2, { message: "both tickets after reset" });
  await ctid(anna, "tk-filter-tag").fill("wartung");
  await ctid(anna, "tk-filter-apply").click();
  await onlyListed(olgaTicket.id, "tag wartung");
  await ctid(anna, "tk-filter-reset").click();
  await ctid(anna, "tk-filter-q").fill("Feuerlöscher");
  await ctid(anna, "tk-filter-q").press("Enter");
  await onlyListed(paulTicket.id, "search Feuerlöscher");
  assert.deepEqual(anna.rec.errors, [], "no uncaught errors in the console");
});

h.test("an admin sees the ticket volume on the reports dashboard and downloads the CSV", async () => {
  const admin = await openConsole(h, DEMO_ADMIN, { ctx: await h.context({ acceptDownloads: true }) });
  await ctid(admin, "cs-reports-toggle").click();
  await ctid(admin, "rp-dashboard").waitFor({ state: "visible" });
  await until(async () => Number(await ctid(admin, "rp-chart-channel").getAttribute("data-total")) === 2,
    { message: "two tickets in the channel chart" });
  const offline = admin.locator('[data-testid="rp-chart-channel"] .rp-bar[data-value="2"]');
  assert.equal(await offline.count(), 1, "both tickets are offline-form tickets");
  assert.ok(Number(await ctid(admin, "rp-kpi-volume").getAttribute("data-value")) >= 2, "non-zero volume");
  assert.equal(Number(await ctid(admin, "rp-chart-priority").getAttribute("data-total")), 2);
  // The agent table holds Anna's resolved ticket.
  const annaRow = admin.locator('[data-testid="rp-agents"] [data-testid="rp-row"]', { hasText: "Anna Beispiel" });
  await until(async () => (await annaRow.count()) === 1 ? annaRow.getAttribute("data-tickets") : null,
    { message: "Anna in the per-agent table" });

  const [download] = await Promise.all([
    admin.waitForEvent("download"),
    ctid(admin, "rp-csv").click(),
  ]);
  assert.match(download.suggestedFilename(), /^kpis_all_\d{4}-\d{2}-\d{2}_\d{4}-\d{2}-\d{2}\.csv$/);
  const csv = readFileSync(await download.path(), "utf8");
  const lines = csv.trim().split(/\r?\n/);
  assert.equal(lines[0], "group,agent_id,agent_name,support_level,metric,value");
  assert.ok(lines.includes("overall,,,,volume.tickets,2"), "the CSV holds the ticket volume");
  await ctid(admin, "rp-csv-link").waitFor({ state: "visible" });

  mkdirSync(ARTIFACTS, { recursive: true });
  await admin.screenshot({ path: path.join(ARTIFACTS, "console-reports.png"), fullPage: true });

  // A range before the tickets existed: nothing to count.
  await ctid(admin, "rp-from").fill("2026-01-01");
  await ctid(admin, "rp-to").fill("2026-01-31");
  await ctid(admin, "rp-show").click();
  await until(async () => (await ctid(admin, "rp-kpi-volume").getAttribute("data-value")) === "0",
    { message: "volume 0 in January" });
  assert.equal(await ctid(admin, "rp-chart-channel").getAttribute("data-total"), "0");
  // A reversed range is refused by the relay (422) and said so.
  await ctid(admin, "rp-from").fill("2026-02-01");
  await ctid(admin, "rp-show").click();
  await ctid(admin, "rp-error").waitFor({ state: "visible" });
  assert.match(await ctid(admin, "rp-error").textContent(), /valid range/);
  assert.deepEqual(admin.rec.errors, [], "no uncaught errors in the console");
});
