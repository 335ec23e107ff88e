// Console spec (issue 5, SLA policies and assignment rules): an admin sets the SLA targets of
// a priority and a category's rule in the console's admin view; the relay stores them; a
// resolution target shorter than the first response is refused with the relay's reason.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { Harness, TEST_TIMEOUT, until } from "../lib/harness.mjs";
import { DEMO_ADMIN, login } from "../lib/agent.mjs";
import { ctid, openConsole } from "../lib/console.mjs";
import { apiGet } from "../lib/api.mjs";

const h = new Harness("20-console-ticket-settings");
before(() => h.setup(), { timeout: TEST_TIMEOUT });
after(() => h.teardown(), { timeout: TEST_TIMEOUT });

h.test("an admin sets SLA targets and an assignment rule in the console; they are stored", async () => {
  const admin = await openConsole(h, DEMO_ADMIN, { ctx: await h.context() });
  await ctid(admin, "cs-admin-toggle").click();
  const settings = admin.locator('[data-testid="cs-ticket-settings"]');
  await settings.waitFor({ state: "visible" });
  const status = settings.locator('[data-testid="cs-ticket-settings-status"]');
  const high = settings.locator('[data-testid="cs-sla-row"][data-priority="high"]');
  // The form shows the targets in force (the defaults: 4 h / 24 h).
  await until(async () => (await high.locator('[data-testid="cs-sla-first"]').inputValue()) === "240",
    { message: "the stored targets are shown" });
  assert.equal(await high.locator('[data-testid="cs-sla-resolution"]').inputValue(), "1440");

  // Resolution before the first response: refused with the relay's reason, nothing stored.
  await high.locator('[data-testid="cs-sla-first"]').fill("90");
  await high.locator('[data-testid="cs-sla-resolution"]').fill("30");
  await high.locator('[data-testid="cs-sla-save"]').click();
  await until(async () => /resolution/.test((await status.textContent()) ?? ""), { message: "the refusal is shown" });
  const { token } = await login(h.relay.url, DEMO_ADMIN);
  let stored = await apiGet(h.relay.url, token, "/api/v1/tickets/sla-policies");
  let highPolicy = stored.policies.find((p) => p.priority === "high");
  assert.equal(highPolicy.first_response_minutes, 240, "a refused save stores nothing");

  await high.locator('[data-testid="cs-sla-resolution"]').fill("600");
  await high.locator('[data-testid="cs-sla-save"]').click();
  await until(async () => {
    stored = await apiGet(h.relay.url, token, "/api/v1/tickets/sla-policies");
    highPolicy = stored.policies.find((p) => p.priority === "high");
    return highPolicy.first_response_minutes === 90 && highPolicy.resolution_minutes === 600;
  }, { message: "the targets are stored" });

  const billing = settings.locator('[data-testid="cs-rule-row"][data-category="billing_question"]');
  await billing.waitFor({ state: "visible" });
  await billing.locator('[data-testid="cs-rule-level"]').selectOption("L2");
  await billing.locator('[data-testid="cs-rule-strategy"]').selectOption("least_loaded");
  await billing.locator('[data-testid="cs-rule-save"]').click();
  await until(async () => {
    const { rules } = await apiGet(h.relay.url, token, "/api/v1/tickets/assignment-rules");
    const rule = rules.find((r) => r.category === "billing_question");
    return rule?.support_level === "L2" && rule?.strategy === "least_loaded";
  }, { message: "the rule is stored" });
  assert.deepEqual(admin.rec.errors, [], "no uncaught errors in the console");
});
