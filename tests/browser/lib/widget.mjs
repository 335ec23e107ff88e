// The widget as a visitor sees it, by its data-testid contract. Playwright's CSS selectors
// pierce open shadow roots, so these find elements inside <switchboard-chat>.
import { until } from "./harness.mjs";

export const tid = (page, id) => page.locator(`[data-testid="${id}"]`);

/** Own or other messages shown in the panel, optionally with a text. */
export function messages(page, { author, text } = {}) {
  const sel = author ? `[data-testid="sb-msg"][data-author="${author}"]` : `[data-testid="sb-msg"]`;
  return text ? page.locator(sel, { hasText: text }) : page.locator(sel);
}

/** Clicks the launcher (unless the panel is already open) and waits for the panel. */
export async function openWidget(page) {
  if (await tid(page, "sb-panel").isVisible()) return;
  await tid(page, "sb-launcher").click();
  await tid(page, "sb-panel").waitFor({ state: "visible", timeout: 15_000 });
}

/**
 * With the panel open: fills the pre-chat form if the widget shows one, and waits until the
 * composer is there. Returns whether a pre-chat form was shown.
 */
export async function startChat(page, { name = null, email = null } = {}) {
  const first = page.locator('[data-testid="sb-prechat"], [data-testid="sb-input"]').first();
  await first.waitFor({ state: "visible", timeout: 15_000 });
  const prechat = await tid(page, "sb-prechat").isVisible();
  if (prechat) {
    if (name !== null) await tid(page, "sb-prechat-name").fill(name);
    if (email !== null) await tid(page, "sb-prechat-email").fill(email);
    await tid(page, "sb-prechat-submit").click();
  }
  await tid(page, "sb-input").waitFor({ state: "visible", timeout: 15_000 });
  return prechat;
}

/** Types into the composer and sends with the send button (or Enter). */
export async function send(page, text, { via = "click" } = {}) {
  const input = tid(page, "sb-input");
  await input.fill(text);
  if (via === "enter") await input.press("Enter");
  else await tid(page, "sb-send").click();
}

/** Waits for exactly one shown message with this text (and author). */
export async function expectOneMessage(page, text, author, timeout = 10_000) {
  const loc = messages(page, { author, text });
  await until(async () => (await loc.count()) === 1,
    { timeout, message: `exactly one ${author ?? ""} message "${text}" in the widget ` +
      `(shown: ${JSON.stringify(await allMessages(page).catch(() => []))})` });
}

/** Every shown message as {author, state, text}, for assertions and failure output. */
export function allMessages(page) {
  return messages(page).evaluateAll((els) => els.map((e) => ({
    author: e.getAttribute("data-author"), state: e.getAttribute("data-state"),
    text: e.textContent.trim(),
  })));
}

/**
 * The focused element, following open shadow roots: its test id, and whether it sits inside
 * the widget's panel.
 */
export function focused(page) {
  return page.evaluate(() => {
    let el = document.activeElement;
    while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
    if (!el) return null;
    let inPanel = false;
    for (let n = el; n; n = n.parentNode || n.host) {
      if (n.nodeType === 1 && n.getAttribute("data-testid") === "sb-panel") { inPanel = true; break; }
    }
    return { tag: el.tagName.toLowerCase(), testid: el.getAttribute("data-testid"), id: el.id || null, inPanel };
  });
}

/**
 * A fresh visitor on `pagePath` opens the widget, fills the pre-chat form (if shown) and sends
 * `firstMessage` (on `pageUrl`, else the relay's `pagePath`); resolves once the scripted `agent` got it. Returns `{page, conv, prechat}`.
 */
export async function beginChat(h, agent, { ctx, pagePath = "/acme/", pageUrl = null, name = "Test Visitor",
  firstMessage } = {}) {
  const since = agent.frames.length; // the pre-chat form may already start the conversation
  const page = await h.page(ctx);
  await page.goto(pageUrl ?? `${h.relay.url}${pagePath}`);
  await openWidget(page);
  const prechat = await startChat(page, { name });
  await send(page, firstMessage);
  const assigned = await agent.waitFor((f) => f.type === "conversation_assigned",
    { since, what: "conversation_assigned", timeout: 15_000 });
  const conv = assigned.conversation.id;
  await agent.waitForVisitorMessage(conv, firstMessage, { since });
  return { page, conv, prechat, assigned };
}

export const isDurableState = (s) => s === "sent" || s === "delivered" || s === "read";

/** Waits until the own message with this text is shown once and marked durable. */
export async function expectDurable(page, text, timeout = 10_000) {
  await until(async () => {
    const own = (await allMessages(page)).filter((m) => m.author === "visitor" && m.text.includes(text));
    return own.length === 1 && isDurableState(own[0].state);
  }, { timeout, message: `own message "${text}" shown once with data-state sent|delivered|read ` +
    `(shown: ${JSON.stringify(await allMessages(page).catch(() => []))})` });
}
