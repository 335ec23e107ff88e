// A scripted visitor: the visitor WebSocket (docs/PROTOCOL.md) without a browser, for tests
// that need several visitors quickly. The relay runs with --demo, so a localhost Origin is
// accepted for the demo site.
import WebSocket from "ws";

export class ScriptedVisitor {
  constructor(baseUrl) {
    this.baseUrl = baseUrl;
    this.frames = [];
    this.waiters = new Set();
    this.next = 1;
  }

  /** Connects, says hello (site `demo`) and starts a conversation as `name`. */
  static async start(baseUrl, { name, site = "demo", locale = "de" } = {}) {
    const v = new ScriptedVisitor(baseUrl);
    const ws = new WebSocket(baseUrl.replace(/^http/, "ws") + "/ws/visitor", { origin: baseUrl });
    v.ws = ws;
    ws.on("message", (data) => {
      let f;
      try { f = JSON.parse(String(data)); } catch { f = { type: "<unparsable>" }; }
      v.frames.push(f);
      for (const w of [...v.waiters]) w.check();
    });
    ws.on("error", () => {});
    await new Promise((resolve, reject) => { ws.once("open", resolve); ws.once("error", reject); });
    ws.send(JSON.stringify({ type: "hello", protocol: 1, site, locale }));
    await v.waitFor((f) => f.type === "visitor_welcome", "visitor_welcome");
    ws.send(JSON.stringify({ type: "start_conversation", name, page_url: `${baseUrl}/acme/` }));
    const started = await v.waitFor((f) => f.type === "event" && f.event?.kind === "started", "started");
    v.conv = started.conversation_id;
    return v;
  }

  waitFor(pred, what = "a frame", timeout = 10_000) {
    return new Promise((resolve, reject) => {
      const w = {
        check: () => {
          const f = this.frames.find(pred);
          if (f) { this.waiters.delete(w); clearTimeout(w.t); resolve(f); }
        },
      };
      w.t = setTimeout(() => {
        this.waiters.delete(w);
        reject(new Error(`visitor: timed out waiting for ${what}; last frames: ` +
          this.frames.slice(-6).map((f) => JSON.stringify(f)).join(" ")));
      }, timeout);
      this.waiters.add(w);
      w.check();
    });
  }

  send(body) {
    this.ws.send(JSON.stringify({ type: "send", client_id: `v-${this.next++}-${Date.now()}`, body }));
  }

  /** The latest queue position the relay told us, or null. */
  queuePosition() {
    const q = this.frames.filter((f) => f.type === "queue").at(-1);
    return q ? q.position : null;
  }

  /** The name of the agent in the latest agent_joined / transferred event. */
  agentName() {
    let name = null;
    for (const f of this.frames) {
      if (f.type !== "event") continue;
      if (f.event?.kind === "agent_joined") name = f.event.agent.name;
      if (f.event?.kind === "transferred") name = f.event.to.name;
    }
    return name;
  }

  close() { try { this.ws?.terminate(); } catch {} }
}
