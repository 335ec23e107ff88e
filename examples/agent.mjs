#!/usr/bin/env -S node --experimental-websocket
// A minimal terminal agent for trying the widget before the agent console exists.
//
//   node --experimental-websocket examples/agent.mjs [http://127.0.0.1:8080] [email] [password]
//
// Defaults to the demo agent that `cargo xtask run` prints. Shows every chat routed to the
// agent; type `<conversation id> <text>` to answer, `/end <id>` to end a chat, `/away`,
// `/online`, `/quit`. No dependencies: Node 20's built-in WebSocket (behind the flag above).

import readline from "node:readline";

const base = (process.argv[2] || "http://127.0.0.1:8080").replace(/\/$/, "");
const email = process.argv[3] || "demo@switchboard.local";
const password = process.argv[4] || "demo-agent";

const login = await fetch(`${base}/api/v1/auth/login`, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ email, password }),
});
if (!login.ok) {
  console.error(`login failed: ${login.status} ${await login.text()}`);
  process.exit(1);
}
const { token, agent } = await login.json();
console.log(`logged in as ${agent.name} (max ${agent.max_concurrent_chats} chats)`);

const ws = new WebSocket(base.replace(/^http/, "ws") + "/ws/agent");
let sent = 0;
const send = (frame) => ws.send(JSON.stringify(frame));
const time = (ms) => new Date(ms).toLocaleTimeString();

ws.onopen = () => send({ type: "hello", protocol: 1, token });
ws.onclose = (e) => {
  console.log(`connection closed (${e.code}) ${e.reason}`);
  process.exit(0);
};
ws.onmessage = ({ data }) => {
  const f = JSON.parse(data);
  switch (f.type) {
    case "agent_welcome":
      console.log(`online; holding ${f.conversations.length} chat(s), ${f.queue_total ?? f.queue.length} waiting`);
      break;
    case "conversation_assigned":
      console.log(`\n== chat ${f.conversation.id} from ${f.conversation.visitor.name || "a visitor"}` +
        (f.conversation.visitor.page_url ? ` on ${f.conversation.visitor.page_url}` : ""));
      break;
    case "event": {
      const e = f.event;
      if (e.kind === "message" && e.author.role === "visitor") {
        console.log(`[${f.conversation_id}] ${time(f.at)} visitor: ${e.body}`);
        send({ type: "ack", conversation_id: f.conversation_id, seq: f.seq });
      } else if (e.kind === "message") {
        console.log(`[${f.conversation_id}] ${time(f.at)} ${e.author.name}: ${e.body}`);
      } else if (e.kind === "ended") {
        console.log(`[${f.conversation_id}] ended by the ${e.by}`);
      } else if (e.kind === "rated") {
        console.log(`[${f.conversation_id}] rated ${e.score}/5 ${e.comment || ""}`);
      }
      break;
    }
    case "typing":
      if (f.active) console.log(`[${f.conversation_id}] visitor is typing…`);
      break;
    case "queue_snapshot":
      if (f.total ?? f.entries.length) console.log(`queue: ${f.total ?? f.entries.length} waiting`);
      break;
    case "error":
      console.log(`error: ${f.code} (${f.message})`);
      break;
  }
};

const rl = readline.createInterface({ input: process.stdin });
rl.on("line", (line) => {
  const [cmd, ...rest] = line.trim().split(" ");
  if (cmd === "/quit") process.exit(0);
  else if (cmd === "/away" || cmd === "/online") send({ type: "set_presence", presence: cmd.slice(1) });
  else if (cmd === "/end") send({ type: "end_conversation", conversation_id: Number(rest[0]) });
  else if (/^\d+$/.test(cmd) && rest.length) {
    sent += 1;
    send({ type: "send", conversation_id: Number(cmd), client_id: `cli-${Date.now()}-${sent}`, body: rest.join(" ") });
  } else if (line.trim()) console.log("type: <conversation id> <text> | /end <id> | /away | /online | /quit");
});
