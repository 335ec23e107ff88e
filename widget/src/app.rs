//! The controller: owns the socket, the storage and the loader's `emit`, feeds relay frames
//! and visitor actions into the [`Chat`] model (held in a signal the UI reads) and carries
//! out the model's [`Out`]s. The UI talks to it through the `Copy` handle [`Widget`].

use crate::client::decode::{decode, Decoded};
use crate::client::encode::encode;
use crate::client::new_client_id;
use crate::client::outbox::{self, Outbox};
use crate::client::socket::{Handlers, Socket};
use crate::client::store::Store;
use crate::config::Config;
use crate::i18n::{self, Lang};
use crate::json::Json;
use crate::model::{Chat, Contact, Emit, Line, Out, Who};
use leptos::prelude::*;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;
use switchboard_shared::limits::MAX_URL_CHARS;
use switchboard_shared::text::parse_field;
use switchboard_shared::{ConversationId, ErrorCode, VisitorCommand};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

const TOKEN: &str = "token";
const READ: &str = "read";
const DISMISSED: &str = "dismissed";
/// Ticket replies seen up to this reply id.
const SEEN: &str = "seen";
/// Set while a ticket is open (read by the loader).
const TICKETS: &str = "tickets";
const TICK: Duration = Duration::from_millis(500);

/// The handle components use: the model to read, the controller to act. `Copy`, so event
/// handlers capture it freely.
#[derive(Clone, Copy)]
pub struct Widget {
    pub chat: RwSignal<Chat>,
    pub lang: RwSignal<Lang>,
    ctl: StoredValue<Rc<Ctl>, LocalStorage>,
}

impl Widget {
    pub fn ctl(&self) -> Rc<Ctl> {
        self.ctl.get_value()
    }
}

pub fn use_widget() -> Widget {
    // Components only exist under the panel, which provides it.
    expect_context::<Widget>()
}

pub struct Ctl {
    pub chat: RwSignal<Chat>,
    pub lang: RwSignal<Lang>,
    pub config: Config,
    store: Store,
    emit: js_sys::Function,
    host: web_sys::HtmlElement,
    socket: RefCell<Option<Socket>>,
}

impl Ctl {
    pub fn new(host: web_sys::HtmlElement, config: Config, emit: js_sys::Function) -> Rc<Ctl> {
        let navigator_lang = web_sys::window().and_then(|w| w.navigator().language());
        let lang = config.lang(navigator_lang.as_deref());
        let store = Store::browser(&config.site);
        let mut chat = fresh_chat(&store);
        chat.open = config.open;
        Rc::new(Ctl {
            chat: RwSignal::new(chat),
            lang: RwSignal::new(lang),
            config,
            store,
            emit,
            host,
            socket: RefCell::new(None),
        })
    }

    pub fn widget(self: &Rc<Self>) -> Widget {
        Widget {
            chat: self.chat,
            lang: self.lang,
            ctl: StoredValue::new_local(self.clone()),
        }
    }

    /// Connects, starts the 500 ms tick and follows page visibility.
    pub fn start(self: &Rc<Self>, url: String) {
        let weak = Rc::downgrade(self);
        let (w1, w2, w3) = (weak.clone(), weak.clone(), weak.clone());
        let ping = encode(&VisitorCommand::Ping {});
        let socket = Socket::new(
            url,
            ping,
            Handlers {
                on_open: Box::new(move || {
                    if let Some(c) = w1.upgrade() {
                        c.send_hello();
                    }
                }),
                on_text: Box::new(move |text| {
                    if let Some(c) = w2.upgrade() {
                        c.on_text(&text);
                    }
                }),
                on_down: Box::new(move |_code| {
                    if let Some(c) = w3.upgrade() {
                        c.update(Chat::disconnected);
                    }
                }),
            },
        );
        *self.socket.borrow_mut() = Some(socket.clone());
        socket.start();

        let w = weak.clone();
        let _ = set_interval_with_handle(
            move || {
                if let Some(c) = w.upgrade() {
                    let now = js_sys::Date::now();
                    if c.chat.with_untracked(|m| m.tick_due(now)) {
                        c.update(|m| m.tick(now));
                    }
                }
            },
            TICK,
        );
        self.follow_visibility();
    }

    fn follow_visibility(self: &Rc<Self>) {
        let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
            return;
        };
        let weak = Rc::downgrade(self);
        let d = doc.clone();
        let cb = Closure::<dyn FnMut()>::new(move || {
            let visible = d.visibility_state() == web_sys::VisibilityState::Visible;
            if let Some(c) = weak.upgrade() {
                c.update(|m| m.set_visible(visible));
            }
        });
        let _ =
            doc.add_event_listener_with_callback("visibilitychange", cb.as_ref().unchecked_ref());
        // Lives as long as the page, like the widget.
        cb.forget();
    }

    fn on_text(&self, text: &str) {
        // Unknown or malformed frames are ignored: a newer relay may send more than we know.
        let now = js_sys::Date::now();
        match decode(text) {
            Some(Decoded::Frame(frame)) => self.update(|m| m.apply(frame, now)),
            Some(Decoded::UnknownEvent {
                conversation_id,
                seq,
            }) => self.update(|m| m.skip_event(conversation_id, seq)),
            None => web_sys::console::debug_1(&"switchboard: ignored frame".into()),
        }
    }

    fn send_hello(&self) {
        let site = self.config.site.clone();
        let locale = self.lang.get_untracked().code();
        if let Some(hello) = self.chat.try_update(|m| m.hello(&site, locale)) {
            self.send(&hello);
        }
    }

    /// Changes the model and carries out what it asks for.
    fn update(&self, f: impl FnOnce(&mut Chat) -> Vec<Out>) {
        let outs = self.chat.try_update(f).unwrap_or_default();
        self.perform(outs);
    }

    fn perform(&self, outs: Vec<Out>) {
        for out in outs {
            match out {
                Out::Send(cmd) => self.send(&cmd),
                Out::Hello => self.send_hello(),
                Out::Reconnect => {
                    self.update(Chat::disconnected);
                    if let Some(s) = self.socket() {
                        s.restart();
                    }
                }
                Out::GiveUp => {
                    if let Some(s) = self.socket() {
                        s.stop();
                    }
                }
                Out::Emit(e) => self.emit_model(e),
                Out::SaveToken(Some(t)) => self.store.set(TOKEN, &t),
                Out::SaveToken(None) => self.store.remove(TOKEN),
                Out::SaveOutbox => {
                    let json = self.chat.with_untracked(|m| m.outbox.to_json());
                    self.store.set(outbox::KEY, &json);
                }
                Out::SaveReadMark(id, seq) => self.store.set(READ, &format!("{}:{seq}", id.0)),
                Out::SaveDismissed(id) => self.store.set(DISMISSED, &id.0.to_string()),
                Out::SaveSeenReply(id) => self.store.set(SEEN, &id.to_string()),
                Out::SaveTicketsOpen(true) => self.store.set(TICKETS, "1"),
                Out::SaveTicketsOpen(false) => self.store.remove(TICKETS),
            }
        }
    }

    fn socket(&self) -> Option<Socket> {
        self.socket.borrow().clone()
    }

    fn send(&self, cmd: &VisitorCommand) {
        let text = encode(cmd);
        if let Some(s) = self.socket() {
            // A frame that cannot go out now is not lost where it matters: messages stay in
            // the outbox and are resent after the next welcome.
            s.send(&text);
        }
    }

    pub fn emit(&self, name: &str, detail: &JsValue) {
        let _ = self
            .emit
            .call2(&JsValue::NULL, &JsValue::from_str(name), detail);
    }

    fn emit_model(&self, e: Emit) {
        match e {
            Emit::Unread(n) => self.emit("unread", &JsValue::from(n)),
            Emit::Status { online, hidden } => {
                let d = js_sys::Object::new();
                set(&d, "online", &JsValue::from_bool(online));
                if let Some(h) = hidden {
                    set(&d, "hidden", &JsValue::from_bool(h));
                }
                self.emit("status", &d);
            }
            Emit::Look(look) => self.emit("look", &JsValue::from_str(&look)),
            Emit::Message(line) => {
                let lang = self.lang.get_untracked();
                let (body, author, name) = match line {
                    Line::Text {
                        who: Who::Visitor,
                        body,
                    } => (body, "visitor", None),
                    Line::Text {
                        who: Who::Agent(n),
                        body,
                    } => (body, "agent", Some(n)),
                    Line::Note(note) => (i18n::note(lang, &note), "system", None),
                };
                let d = js_sys::Object::new();
                set(&d, "body", &JsValue::from_str(&body));
                set(&d, "author", &JsValue::from_str(author));
                set(
                    &d,
                    "name",
                    &name.map_or(JsValue::NULL, |n| JsValue::from_str(&n)),
                );
                self.emit("message", &d);
            }
        }
    }

    // ----------------------------------------------------------------------------------
    // Actions (from the loader's handle and from the UI)
    // ----------------------------------------------------------------------------------

    pub fn open(&self) {
        if self.chat.with_untracked(|m| m.open) {
            return;
        }
        self.update(|m| m.set_open(true));
        self.emit("open", &JsValue::UNDEFINED);
        self.focus_first_input();
    }

    pub fn close(&self) {
        if !self.chat.with_untracked(|m| m.open) {
            return;
        }
        self.update(|m| m.set_open(false));
        self.emit("close", &JsValue::UNDEFINED);
    }

    pub fn toggle(&self) {
        if self.chat.with_untracked(|m| m.open) {
            self.close();
        } else {
            self.open();
        }
    }

    /// Moves focus into the panel once it is drawn: the first field, else the close button.
    /// Not when a field of the panel already has focus by then: a visitor who clicked into
    /// the e-mail field before that frame would otherwise type the rest into the name field.
    pub fn focus_first_input(&self) {
        let host = self.host.clone();
        request_animation_frame(move || {
            if field_has_focus(&host) {
                return;
            }
            let el = host
                .query_selector("input, textarea")
                .ok()
                .flatten()
                .or_else(|| host.query_selector("[data-testid=sb-close]").ok().flatten());
            if let Some(el) = el.and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()) {
                let _ = el.focus();
            }
        });
    }

    /// The composer's send. `Err` when refused locally (empty, too long).
    pub fn send_text(&self, body: &str) -> Result<(), ErrorCode> {
        let id = new_client_id();
        let now = js_sys::Date::now();
        let result = self.chat.try_update(|m| m.compose(body, id, now));
        match result {
            Some(Ok(outs)) => {
                self.perform(outs);
                Ok(())
            }
            Some(Err(code)) => {
                self.show_error(code);
                Err(code)
            }
            None => Err(ErrorCode::Internal),
        }
    }

    pub fn show_error(&self, code: ErrorCode) {
        let now = js_sys::Date::now();
        self.chat.update(|m| m.error = Some((code, now)));
    }

    pub fn typing_input(&self) {
        let now = js_sys::Date::now();
        self.update(|m| m.typing_input(now));
    }

    pub fn typing_stop(&self) {
        self.update(Chat::typing_stop);
    }

    pub fn start_chat(&self, contact: Contact) {
        self.update(|m| m.start(contact));
        self.focus_first_input();
    }

    pub fn leave_message(&self, body: &str, contact: Contact) -> Result<(), ErrorCode> {
        let id = new_client_id();
        match self.chat.try_update(|m| m.leave_message(id, body, contact)) {
            Some(Ok(outs)) => {
                self.perform(outs);
                Ok(())
            }
            Some(Err(code)) => {
                self.show_error(code);
                Err(code)
            }
            None => Err(ErrorCode::Internal),
        }
    }

    pub fn end_chat(&self) {
        self.update(Chat::end);
    }

    pub fn rate(&self, score: u8, comment: &str) {
        match self.chat.try_update(|m| m.rate(score, comment)) {
            Some(Ok(outs)) => self.perform(outs),
            Some(Err(code)) => self.show_error(code),
            None => {}
        }
    }

    pub fn rate_ticket(&self, ticket_id: i64, score: u8, comment: &str) {
        match self
            .chat
            .try_update(|m| m.rate_ticket(ticket_id, score, comment))
        {
            Some(Ok(outs)) => self.perform(outs),
            Some(Err(code)) => self.show_error(code),
            None => {}
        }
    }

    pub fn leave_instead(&self) {
        self.chat.update(Chat::leave_instead);
        self.focus_first_input();
    }

    pub fn new_chat(&self) {
        self.update(Chat::new_chat);
        self.focus_first_input();
    }

    /// `identify({"name","email","customerNumber"})`: prefill for the forms and the start.
    pub fn identify(&self, json: &str) {
        let Some(v) = Json::parse(json) else {
            return;
        };
        let field = |k: &str| parse_field(v.get(k).and_then(Json::as_str)).ok().flatten();
        let contact = Contact {
            name: field("name"),
            email: field("email"),
            customer_number: field("customerNumber").or_else(|| field("customer_number")),
        };
        self.chat.update(|m| m.identify(contact));
    }

    pub fn set_locale(&self, locale: &str) {
        self.lang.set(Lang::from_tag(locale));
    }

    /// Forget the visitor: token, outbox and marks, then a fresh connection without token.
    pub fn reset(&self) {
        for key in [TOKEN, outbox::KEY, READ, DISMISSED, SEEN, TICKETS] {
            self.store.remove(key);
        }
        let page_url = current_page_url();
        self.chat.update(|m| {
            let open = m.open;
            *m = Chat::new(None, Outbox::default(), None, None);
            m.open = open;
            m.page_url = page_url;
        });
        if let Some(s) = self.socket() {
            s.restart();
        }
    }
}

/// The model for a fresh page, from what this site stored earlier.
fn fresh_chat(store: &Store) -> Chat {
    let token = store.get(TOKEN).filter(|t| !t.is_empty());
    let outbox = store
        .get(outbox::KEY)
        .map(|j| Outbox::from_json(&j))
        .unwrap_or_default();
    let read_mark = store.get(READ).and_then(|s| {
        let (id, seq) = s.split_once(':')?;
        Some((ConversationId(id.parse().ok()?), seq.parse().ok()?))
    });
    let dismissed = store
        .get(DISMISSED)
        .and_then(|s| s.parse().ok())
        .map(ConversationId);
    let mut chat = Chat::new(token, outbox, read_mark, dismissed);
    chat.seen_reply = store.get(SEEN).and_then(|s| s.parse().ok()).unwrap_or(0);
    chat.page_url = current_page_url();
    chat
}

fn current_page_url() -> Option<String> {
    let href = web_sys::window()?.location().href().ok()?;
    Some(href.chars().take(MAX_URL_CHARS).collect())
}

fn set(obj: &js_sys::Object, key: &str, value: &JsValue) {
    let _ = js_sys::Reflect::set(obj, &JsValue::from_str(key), value);
}

/// True when the focused element (inside the shadow root that holds `host`) is an input or
/// text area of the panel.
fn field_has_focus(host: &web_sys::HtmlElement) -> bool {
    host.get_root_node()
        .dyn_into::<web_sys::ShadowRoot>()
        .ok()
        .and_then(|root| root.active_element())
        .is_some_and(|el| {
            host.contains(Some(&el)) && matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA")
        })
}
