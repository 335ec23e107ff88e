// The agent console (/console) as an agent sees it, by its data-testid contract (cs-*).
import { until } from "./harness.mjs";

export const ctid = (page, id) => page.locator(`[data-testid="${id}"]`);

/** Opens /console in a fresh page, logs in and waits for the load display ("0 / 2 chats"). */
export async function openConsole(h, { email, password }, { ctx } = {}) {
  const page = await h.page(ctx);
  await page.goto(`${h.relay.url}/console`);
  await ctid(page, "cs-login-email").fill(email);
  await ctid(page, "cs-login-password").fill(password);
  await ctid(page, "cs-login-submit").click();
  await until(async () => /\d+ \/ \d+/.test(await ctid(page, "cs-load").textContent().catch(() => "")),
    { timeout: 15_000, message: `console of ${email} connected (cs-load shows "n / m")` });
  return page;
}

/** Sets the agent's presence ("online", "away") and waits until the console shows it. */
export async function setPresence(page, presence) {
  await ctid(page, "cs-presence").selectOption(presence);
  await until(async () => (await ctid(page, "cs-presence").inputValue()) === presence,
    { message: `presence ${presence}` });
}

/** The load as shown, e.g. "2 / 3". */
export async function load(page) {
  return ((await ctid(page, "cs-load").textContent()) ?? "").match(/\d+ \/ \d+/)?.[0];
}

/** Panes of chats that have not ended. */
export function openPanes(page) {
  return page.locator('[data-testid="cs-chat"]:not(.cs-ended)');
}

/** The pane whose visitor has this name. */
export function paneOf(page, visitorName) {
  return page.locator('[data-testid="cs-chat"]', {
    has: page.locator('[data-testid="cs-visitor-name"]', { hasText: visitorName }),
  });
}

/** Every message shown in a pane as {author, state, text}. */
export function paneMessages(pane) {
  return pane.locator('[data-testid="cs-msg"]').evaluateAll((els) => els.map((e) => ({
    author: e.getAttribute("data-author"), state: e.getAttribute("data-state"),
    text: e.querySelector(".cs-body")?.textContent ?? "",
  })));
}

/** Waits until the pane shows exactly one message with this text from this author. */
export async function expectPaneMessage(pane, text, author, timeout = 10_000) {
  await until(async () => (await paneMessages(pane)).filter((m) => m.author === author && m.text === text).length === 1,
    { timeout, message: `exactly one ${author} message "${text}" in the pane ` +
      `(shown: ${JSON.stringify(await paneMessages(pane).catch(() => []))})` });
}

/** Types a reply into the pane's composer and sends it with Enter. */
export async function reply(pane, text) {
  const input = pane.locator('[data-testid="cs-input"]');
  await input.fill(text);
  await input.press("Enter");
}
