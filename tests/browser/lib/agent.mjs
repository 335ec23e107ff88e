// A scripted agent: REST login, then the agent WebSocket (docs/PROTOCOL.md). It records every
// frame it receives so a test can wait for one, count them, or print them when it fails.
import WebSocket from "ws";

export const DEMO_ADMIN = { email: "demo@switchboard.local", password: "demo-agent" };

async function json(res, what) {
  const text = await res.text();
  if (!res.ok) throw new Error(`${what}: HTTP ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** `POST /api/v1/auth/login` → `{token, expires_at, agent}`. */
export async function login(baseUrl, { email, password }) {
  const res = await fetch(`${baseUrl}/api/v1/auth/login`, {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password }), signal: AbortSignal.timeout(10_000),
  });
  return json(res, `login ${email}`);
}

/** `GET /api/v1/conversations/{id}` → `{conversation, events}`, or null on 404. */
export async function getConversation(baseUrl, token, id) {
  const res = await fetch(`${baseUrl}/api/v1/conversations/${id}`, {
    headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000),
  });
  if (res.status === 404) return null;
  return json(res, `GET conversation ${id}`);
}

export class ScriptedAgent {
  constructor(baseUrl, token) {
    this.baseUrl = baseUrl;
    this.token = token;
    /** Every frame received, parsed, in arrival order. */
    this.frames = [];
    this.waiters = new Set();
    this.nextClientId = 1;
    this.closed = false;
  }

  /** Logs in and connects; resolves after `agent_welcome`. */
  static async login(baseUrl, creds) {
    const { token } = await login(baseUrl, creds);
    return ScriptedAgent.connect(baseUrl, token);
  }

  /** Connects with an existing session token (e.g. after a relay restart). */
  static async connect(baseUrl, token, resume = []) {
    const a = new ScriptedAgent(baseUrl, token);
    await a.open(resume);
    return a;
  }

  open(resume) {
    const ws = new WebSocket(this.baseUrl.replace(/^http/, "ws") + "/ws/agent");
    this.ws = ws;
    ws.on("message", (data) => {
      let f;
      try { f = JSON.parse(String(data)); } catch { f = { type: "<unparsable>", raw: String(data) }; }
      this.frames.push(f);
      for (const w of [...this.waiters]) w.check();
    });
    ws.on("close", (code) => {
      this.closed = true;
      this.closeCode = code;
      for (const w of [...this.waiters]) w.check();
    });
    ws.on("error", () => {});
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("agent: no agent_welcome within 10 s")), 10_000);
      ws.once("error", (e) => { clearTimeout(t); reject(e); });
      ws.once("open", () => {
        ws.send(JSON.stringify({ type: "hello", protocol: 1, token: this.token, resume }));
        this.waitFor((f) => f.type === "agent_welcome" || f.type === "error", { what: "agent_welcome" })
          .then((f) => {
            clearTimeout(t);
            if (f.type === "error") reject(new Error(`agent hello refused: ${JSON.stringify(f)}`));
            else { this.welcome = f; resolve(this); }
          }, reject);
      });
    });
  }

  /** Resolves with the first recorded frame (from index `since`) that matches `pred`. */
  waitFor(pred, { timeout = 10_000, what = "a frame", since = 0 } = {}) {
    return new Promise((resolve, reject) => {
      const w = {
        check: () => {
          const f = this.frames.slice(since).find(pred);
          if (f) { this.waiters.delete(w); clearTimeout(w.t); resolve(f); }
        },
      };
      w.t = setTimeout(() => {
        this.waiters.delete(w);
        reject(new Error(`agent: timed out after ${timeout} ms waiting for ${what}; ` +
          `last frames: ${this.frames.slice(-8).map((f) => JSON.stringify(f)).join("\n  ")}`));
      }, timeout);
      this.waiters.add(w);
      w.check();
    });
  }

  /** The id of the next conversation assigned to this agent. */
  async assigned(opts = {}) {
    const f = await this.waitFor((f) => f.type === "conversation_assigned",
      { what: "conversation_assigned", timeout: 15_000, ...opts });
    return f.conversation.id;
  }

  /** Visitor message events (one per seq, even if a frame arrived twice) for a conversation. */
  visitorMessages(conversationId) {
    const bySeq = new Map();
    for (const f of this.frames) {
      if (f.type === "event" && f.conversation_id === conversationId && f.event?.kind === "message" &&
          f.event.author?.role === "visitor") bySeq.set(f.seq, f);
    }
    return [...bySeq.values()];
  }

  /** Raw count of visitor message frames with this body (duplicates included). */
  countVisitorFrames(conversationId, body) {
    return this.frames.filter((f) => f.type === "event" && f.conversation_id === conversationId &&
      f.event?.kind === "message" && f.event.author?.role === "visitor" && f.event.body === body).length;
  }

  waitForVisitorMessage(conversationId, body, opts = {}) {
    return this.waitFor((f) => f.type === "event" && f.conversation_id === conversationId &&
      f.event?.kind === "message" && f.event.author?.role === "visitor" && f.event.body === body,
    { what: `visitor message ${JSON.stringify(body)}`, ...opts });
  }

  /** Highest seq received for a conversation (for `resume`). */
  lastSeq(conversationId) {
    return this.frames.reduce((m, f) => (f.type === "event" && f.conversation_id === conversationId
      ? Math.max(m, f.seq) : m), 0);
  }

  raw(frame) { this.ws.send(JSON.stringify(frame)); }

  /** Sends a message and resolves with the `sent` frame. */
  async send(conversationId, body) {
    const clientId = `a-${this.nextClientId++}-${Date.now()}`;
    const since = this.frames.length;
    this.raw({ type: "send", conversation_id: conversationId, client_id: clientId, body });
    const f = await this.waitFor((f) => (f.type === "sent" || f.type === "error") && f.client_id === clientId,
      { what: `sent for ${clientId}`, since });
    if (f.type === "error") throw new Error(`agent send refused: ${JSON.stringify(f)}`);
    return f;
  }

  typing(conversationId, active = true) {
    this.raw({ type: "typing", conversation_id: conversationId, active });
  }

  close() {
    try { this.ws?.terminate(); } catch {}
  }
}
