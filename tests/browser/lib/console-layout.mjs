// Helpers for the console's layout specs (issue 17, items 10-13): visitors with full details,
// "is this element really on screen", and axe-core run inside the page.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import WebSocket from "ws";
import { ScriptedVisitor } from "./visitor.mjs";

/**
 * A scripted visitor (site `demo`) who starts a chat with name, e-mail, customer number and
 * the page they are on, as the widget's pre-chat form would send them.
 */
export async function detailedVisitor(h, { name, email = null, customerNumber = null, pageUrl = null }) {
  const v = new ScriptedVisitor(h.relay.url);
  const ws = new WebSocket(h.relay.url.replace(/^http/, "ws") + "/ws/visitor", { origin: h.relay.url });
  v.ws = ws;
  ws.on("message", (data) => {
    let f;
    try { f = JSON.parse(String(data)); } catch { f = { type: "<unparsable>" }; }
    v.frames.push(f);
    for (const w of [...v.waiters]) w.check();
  });
  ws.on("error", () => {});
  await new Promise((resolve, reject) => { ws.once("open", resolve); ws.once("error", reject); });
  ws.send(JSON.stringify({ type: "hello", protocol: 1, site: "demo", locale: "de" }));
  await v.waitFor((f) => f.type === "visitor_welcome", "visitor_welcome");
  ws.send(JSON.stringify({ type: "start_conversation", name, email, customer_number: customerNumber,
    page_url: pageUrl ?? `${h.relay.url}/acme/produkte/feuerloescher/wartung` }));
  const started = await v.waitFor((f) => f.type === "event" && f.event?.kind === "started", "started");
  v.conv = started.conversation_id;
  h.track(v);
  return v;
}

/** The visitor ends their chat themselves. */
export function visitorEnds(v) {
  v.ws.send(JSON.stringify({ type: "end_conversation" }));
}

/**
 * Where the element is and whether an agent sees it: rendered, entirely inside the viewport,
 * and the topmost element at its centre (not covered by another pane or scrolled away).
 */
export async function onScreen(locator) {
  if ((await locator.count()) !== 1) return { seen: false, why: `${await locator.count()} matches` };
  return locator.evaluate((el) => {
    const r = el.getBoundingClientRect();
    const vw = window.innerWidth, vh = window.innerHeight;
    const box = { x: Math.round(r.left), y: Math.round(r.top), w: Math.round(r.width), h: Math.round(r.height), vw, vh };
    if (r.width === 0 || r.height === 0) return { seen: false, why: "not rendered", box };
    if (r.left < 0 || r.top < 0 || r.right > vw + 0.5 || r.bottom > vh + 0.5) {
      return { seen: false, why: "outside the viewport", box };
    }
    const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    if (!top || !(top === el || el.contains(top))) {
      return { seen: false, why: `covered by ${top?.outerHTML?.slice(0, 80)}`, box };
    }
    return { seen: true, box };
  });
}

const require = createRequire(import.meta.url);
let axeSource;

/**
 * Runs axe-core (from node_modules, injected into the page) on the whole document; returns
 * the serious and critical violations as `{id, impact, help, targets}`.
 */
export async function seriousAxeViolations(page) {
  axeSource ??= readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
  if (!(await page.evaluate(() => typeof window.axe === "object"))) {
    await page.addScriptTag({ content: axeSource });
  }
  const violations = await page.evaluate(async () => {
    const res = await window.axe.run(document, { resultTypes: ["violations"] });
    return res.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
      targets: v.nodes.map((n) => `${n.target.join(" ")} ${n.failureSummary?.split("\n").slice(1).join(" ") ?? ""}`.trim()) }));
  });
  return violations.filter((v) => v.impact === "serious" || v.impact === "critical");
}
