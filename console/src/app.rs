//! The controller: owns the session, the agent socket and the outbox; feeds relay frames
//! into the [`Console`] model (held in a signal the UI reads) and turns the agent's actions
//! into protocol frames or REST calls. Components reach it through the `Copy` handle
//! [`App`].

use crate::api::{self, Canned, Login};
use crate::i18n::Lang;
use crate::model::{Console, Effects};
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;
use switchboard_client::socket::{Handlers, Socket};
use switchboard_shared::{
    AgentCommand, AgentId, ClientMsgId, ConversationId, Presence, ServerFrame, PROTOCOL_VERSION,
};

/// sessionStorage key of the login (token and account): one tab, gone with the tab.
const SESSION_KEY: &str = "switchboard-console-session";

/// How long "end chat" can be undone before the relay is told (it cannot un-end a chat).
pub const END_UNDO_MS: i64 = 5_000;

#[derive(Clone, Copy)]
pub struct App {
    pub session: RwSignal<Option<Login>>,
    pub console: RwSignal<Console>,
    pub lang: RwSignal<Lang>,
    /// The last refusal to show (`cs-error`), as an error code.
    pub error: RwSignal<Option<String>>,
    pub canned: RwSignal<Vec<Canned>>,
    /// The number of the ticket a chat just became (shown until dismissed).
    pub ticket_notice: RwSignal<Option<i64>>,
    /// The pane the agent works in (its unread count stays 0 while the window has focus).
    pub active: RwSignal<Option<ConversationId>>,
    /// "admin" or "chats".
    pub view: RwSignal<&'static str>,
    /// Chats the agent asked to end, with the time the end goes to the relay (undo until then).
    pub ending: RwSignal<HashMap<ConversationId, i64>>,
    ctl: StoredValue<Rc<Ctl>, LocalStorage>,
}

struct Ctl {
    socket: RefCell<Option<Socket>>,
    /// Messages sent but not yet confirmed by `sent`; resent after every welcome with the
    /// same client ids, so the relay stores each once.
    outbox: RefCell<Vec<AgentCommand>>,
    /// Title before the unread badge.
    title: String,
    badge: RefCell<u32>,
    /// The timers that send a pending end; cleared by undo.
    end_timers: RefCell<HashMap<ConversationId, TimeoutHandle>>,
}

pub fn use_app() -> App {
    expect_context::<App>()
}

impl App {
    pub fn new() -> Self {
        let lang = web_sys::window()
            .and_then(|w| w.navigator().language())
            .map_or(Lang::En, |l| Lang::from_tag(&l));
        let title = document().title();
        let app = App {
            session: RwSignal::new(None),
            console: RwSignal::new(Console::default()),
            lang: RwSignal::new(lang),
            error: RwSignal::new(None),
            canned: RwSignal::new(Vec::new()),
            ticket_notice: RwSignal::new(None),
            active: RwSignal::new(None),
            view: RwSignal::new("chats"),
            ending: RwSignal::new(HashMap::new()),
            ctl: StoredValue::new_local(Rc::new(Ctl {
                socket: RefCell::new(None),
                outbox: RefCell::new(Vec::new()),
                title,
                badge: RefCell::new(0),
                end_timers: RefCell::new(HashMap::new()),
            })),
        };
        if let Some(login) = session_storage()
            .and_then(|s| s.get_item(SESSION_KEY).ok().flatten())
            .and_then(|t| serde_json::from_str::<Login>(&t).ok())
        {
            app.start(login);
        }
        app
    }

    fn ctl(&self) -> Rc<Ctl> {
        self.ctl.get_value()
    }

    pub fn token(&self) -> Option<String> {
        self.session
            .with_untracked(|s| s.as_ref().map(|l| l.token.clone()))
    }

    pub fn is_admin(&self) -> bool {
        self.session
            .with(|s| s.as_ref().is_some_and(|l| l.agent.role == "admin"))
    }

    /// After a successful login (or a reload with a stored session): connect.
    pub fn start(self, login: Login) {
        if let (Some(s), Ok(text)) = (session_storage(), serde_json::to_string(&login)) {
            let _ = s.set_item(SESSION_KEY, &text);
        }
        let token = login.token.clone();
        self.session.set(Some(login));
        self.load_canned();
        let url = ws_url();
        let app = self;
        let socket = Socket::new(
            url,
            r#"{"type":"ping"}"#.to_owned(),
            Handlers {
                on_open: Box::new(move || {
                    let resume = app.console.with_untracked(|c| c.resume_points());
                    app.send(&AgentCommand::Hello {
                        protocol: PROTOCOL_VERSION,
                        token: token.clone(),
                        resume,
                    });
                }),
                on_text: Box::new(move |text| app.on_text(&text)),
                on_down: Box::new(move |code| {
                    app.console.update(|c| c.connected = false);
                    if code == 4003 {
                        app.forget_session();
                    }
                }),
            },
        );
        *self.ctl().socket.borrow_mut() = Some(socket.clone());
        socket.start();
    }

    pub fn load_canned(self) {
        let Some(token) = self.token() else { return };
        spawn_local(async move {
            if let Ok(list) = api::canned(&token).await {
                self.canned.set(list);
            }
        });
    }

    pub fn logout(self) {
        if let Some(token) = self.token() {
            spawn_local(async move { api::logout(&token).await });
        }
        self.forget_session();
    }

    /// Back to the login form: socket closed, state and stored session dropped.
    fn forget_session(self) {
        if let Some(s) = self.ctl().socket.borrow_mut().take() {
            s.stop();
        }
        self.ctl().outbox.borrow_mut().clear();
        if let Some(s) = session_storage() {
            let _ = s.remove_item(SESSION_KEY);
        }
        self.console.set(Console::default());
        self.session.set(None);
    }

    fn send(&self, cmd: &AgentCommand) -> bool {
        let Ok(text) = serde_json::to_string(cmd) else {
            return false;
        };
        let socket = self.ctl().socket.borrow().clone();
        socket.is_some_and(|s| s.send(&text))
    }

    fn on_text(self, text: &str) {
        let Ok(frame) = serde_json::from_str::<ServerFrame>(text) else {
            return;
        };
        let mut fx = Effects::default();
        self.console.update(|c| fx = c.apply(frame));
        if fx.welcome {
            let pending = self.ctl().outbox.borrow().clone();
            for cmd in &pending {
                self.send(cmd);
            }
        }
        if let Some(cid) = fx.sent {
            self.ctl().outbox.borrow_mut().retain(|cmd| {
                !matches!(cmd, AgentCommand::Send { client_id, .. } if client_id.as_str() == cid)
            });
        }
        if let Some((id, seq, body)) = fx.visitor_message {
            self.send(&AgentCommand::Ack {
                conversation_id: id,
                seq,
            });
            if has_focus() && self.active.get_untracked() == Some(id) {
                self.mark_read(id);
            } else if !has_focus() && !fx.replayed {
                let name = self
                    .console
                    .with_untracked(|c| c.chat(id).and_then(|c| c.view.visitor.name.clone()));
                self.notify(self.lang.get_untracked().t().new_message, name, &body);
            }
        }
        for id in fx.fresh {
            self.sync_read(id);
        }
        if let Some(id) = fx.assigned {
            if self.active.get_untracked().is_none() {
                self.active.set(Some(id));
            }
            if !has_focus() {
                let name = self
                    .console
                    .with_untracked(|c| c.chat(id).and_then(|c| c.view.visitor.name.clone()));
                self.notify(self.lang.get_untracked().t().new_chat, name, "");
            }
        }
        if let Some((code, _)) = fx.error {
            if code == "invalid_token" {
                self.forget_session();
            } else {
                self.error.set(Some(code));
            }
        }
    }

    /// Desktop notification (when permitted), a short tone and the unread badge in the title.
    fn notify(&self, what: &str, name: Option<String>, body: &str) {
        chime();
        let ctl = self.ctl();
        *ctl.badge.borrow_mut() += 1;
        document().set_title(&format!("({}) {}", ctl.badge.borrow(), ctl.title));
        if web_sys::Notification::permission() == web_sys::NotificationPermission::Granted {
            let opts = web_sys::NotificationOptions::new();
            opts.set_body(body);
            let title = match name {
                Some(n) => format!("{what}: {n}"),
                None => what.to_owned(),
            };
            let _ = web_sys::Notification::new_with_options(&title, &opts);
        }
    }

    /// The window got focus: clear the badge, the active chat counts as read.
    pub fn focused(self) {
        let ctl = self.ctl();
        *ctl.badge.borrow_mut() = 0;
        document().set_title(&ctl.title);
        if let Some(id) = self.active.get_untracked() {
            self.mark_read(id);
        }
    }

    /// A chat this console did not hold (after a reload): how far the agent had read is
    /// stored by the relay, so replayed messages they had read do not count as unread.
    fn sync_read(self, id: ConversationId) {
        let Some(token) = self.token() else { return };
        spawn_local(async move {
            if let Ok(d) = api::details(&token, id.0).await {
                self.console.update(|c| {
                    if let Some(chat) = c.chat_mut(id) {
                        chat.set_read_by_me(d.agent_read);
                    }
                });
                if has_focus() && self.active.get_untracked() == Some(id) {
                    self.mark_read(id);
                }
            }
        });
    }

    /// Everything in this chat is shown to the agent: unread 0, `read` receipt.
    pub fn mark_read(self, id: ConversationId) {
        let mut seq = None;
        self.console.update(|c| {
            if let Some(chat) = c.chat_mut(id) {
                if chat.unread > 0 {
                    chat.mark_all_read();
                    seq = Some(chat.last_seq);
                }
            }
        });
        if let Some(seq) = seq {
            self.send(&AgentCommand::Read {
                conversation_id: id,
                seq,
            });
        }
    }

    pub fn activate(self, id: ConversationId) {
        if self.active.get_untracked() != Some(id) {
            self.active.set(Some(id));
        }
        self.mark_read(id);
    }

    pub fn send_message(self, id: ConversationId, body: String) {
        let Ok(client_id) = ClientMsgId::try_from(new_client_id()) else {
            return;
        };
        self.console.update(|c| {
            if let Some(chat) = c.chat_mut(id) {
                chat.push_pending(client_id.as_str().to_owned(), body.clone(), now());
            }
        });
        let cmd = AgentCommand::Send {
            conversation_id: id,
            client_id,
            body,
        };
        self.send(&cmd);
        self.ctl().outbox.borrow_mut().push(cmd);
        self.typing(id, false);
    }

    pub fn typing(self, id: ConversationId, active: bool) {
        self.send(&AgentCommand::Typing {
            conversation_id: id,
            active,
        });
    }

    /// "End chat": ends it after [`END_UNDO_MS`] unless undone; the pane says so meanwhile.
    pub fn end(self, id: ConversationId) {
        if self.ending.with_untracked(|e| e.contains_key(&id)) {
            return;
        }
        let timer = set_timeout_with_handle(
            move || self.end_now(id),
            Duration::from_millis(END_UNDO_MS as u64),
        );
        let Ok(timer) = timer else {
            return self.end_now(id);
        };
        self.ctl().end_timers.borrow_mut().insert(id, timer);
        self.ending.update(|e| {
            e.insert(id, now() + END_UNDO_MS);
        });
    }

    /// The agent changed their mind: the chat stays.
    pub fn undo_end(self, id: ConversationId) {
        if let Some(timer) = self.ctl().end_timers.borrow_mut().remove(&id) {
            timer.clear();
        }
        if self.ending.with_untracked(|e| e.contains_key(&id)) {
            self.ending.update(|e| {
                e.remove(&id);
            });
        }
    }

    /// Ends the chat now (the undo window is over, or the agent did not want to wait), unless
    /// it ended or left meanwhile: the relay would refuse it.
    pub fn end_now(self, id: ConversationId) {
        self.undo_end(id);
        let live = self
            .console
            .with_untracked(|c| c.chat(id).is_some_and(|c| !c.ended));
        if live {
            self.send(&AgentCommand::EndConversation {
                conversation_id: id,
            });
        }
    }

    /// Removes an ended chat (its pane and its entry among the ended ones).
    pub fn close(self, id: ConversationId) {
        self.undo_end(id);
        self.console.update(|c| c.chats.retain(|ch| ch.id() != id));
        if self.active.get_untracked() == Some(id) {
            self.active.set(None);
        }
    }

    /// Opens an ended chat's pane again, or folds it back into the list of ended chats.
    pub fn reopen(self, id: ConversationId, open: bool) {
        self.console.update(|c| {
            if let Some(chat) = c.chat_mut(id) {
                chat.reopened = open;
            }
        });
        if open {
            self.active.set(Some(id));
        }
    }

    /// The pane shown when only one fits (narrow screens): the active one, else the first.
    pub fn shown(self) -> Option<ConversationId> {
        let panes = self.console.with(|c| c.pane_ids());
        let active = self.active.get();
        active
            .filter(|a| panes.contains(a))
            .or_else(|| panes.first().copied())
    }

    /// The chat became ticket `ticket`: its pane goes (the relay ends the chat) and the
    /// agent sees the ticket number.
    pub fn converted(self, id: ConversationId, ticket: i64) {
        self.close(id);
        self.ticket_notice.set(Some(ticket));
    }

    pub fn transfer(self, id: ConversationId, to: i64) {
        self.error.set(None);
        self.send(&AgentCommand::Transfer {
            conversation_id: id,
            to_agent: AgentId(to),
        });
    }

    pub fn set_presence(self, presence: Presence) {
        self.send(&AgentCommand::SetPresence { presence });
    }
}

impl Default for App {
    fn default() -> Self {
        Self::new()
    }
}

pub fn document() -> web_sys::Document {
    web_sys::window()
        .and_then(|w| w.document())
        .expect("a browser document")
}

/// A short, quiet two-tone chime with Web Audio (no sound file to ship). Browsers may keep
/// the audio context suspended until the page had a user gesture; then it stays silent.
fn chime() {
    thread_local! {
        // One context for the page: browsers limit how many may exist.
        static AUDIO: RefCell<Option<web_sys::AudioContext>> = const { RefCell::new(None) };
    }
    let ctx = AUDIO.with(|a| {
        let mut a = a.borrow_mut();
        if a.is_none() {
            *a = web_sys::AudioContext::new().ok();
        }
        a.clone()
    });
    let Some(ctx) = ctx else {
        return;
    };
    let (Ok(osc), Ok(gain)) = (ctx.create_oscillator(), ctx.create_gain()) else {
        return;
    };
    let t = ctx.current_time();
    osc.frequency().set_value(880.0);
    let _ = osc.frequency().set_value_at_time(660.0, t + 0.12);
    gain.gain().set_value(0.08);
    let _ = gain.gain().linear_ramp_to_value_at_time(0.0, t + 0.3);
    let _ = osc.connect_with_audio_node(&gain);
    let _ = gain.connect_with_audio_node(&ctx.destination());
    let _ = osc.start();
    let _ = osc.stop_with_when(t + 0.3);
}

fn has_focus() -> bool {
    document().has_focus().unwrap_or(true)
}

fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

pub fn now() -> i64 {
    js_sys::Date::now() as i64
}

/// `a-` and 20 random base-36 digits: unique enough per conversation and side.
fn new_client_id() -> String {
    let mut id = String::from("a-");
    for _ in 0..20 {
        let d = (js_sys::Math::random() * 36.0) as u32;
        id.push(char::from_digit(d.min(35), 36).unwrap_or('0'));
    }
    id
}

/// `ws(s)://<this host>/ws/agent`: the console is served by the relay it talks to.
fn ws_url() -> String {
    let loc = document().location();
    let (proto, host) = loc
        .map(|l| {
            (
                l.protocol().unwrap_or_default(),
                l.host().unwrap_or_default(),
            )
        })
        .unwrap_or_default();
    let scheme = if proto == "https:" { "wss" } else { "ws" };
    format!("{scheme}://{host}/ws/agent")
}
