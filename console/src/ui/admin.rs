//! For admins: every agent with cap, role, support level and disabled flag editable, a
//! form to create one, the canned responses, the sites ([`super::sites`]) and the ticket
//! settings ([`crate::tickets::settings`]).

use super::t;
use crate::api::{self, AgentRow};
use crate::app::use_app;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::json;

#[component]
pub fn Admin() -> impl IntoView {
    let app = use_app();
    let t = t();
    let agents = RwSignal::new(Vec::<AgentRow>::new());
    let status = RwSignal::new(String::new());
    let reload = move || {
        let Some(token) = app.token() else { return };
        spawn_local(async move {
            if let Ok(list) = api::agents(&token).await {
                agents.set(list);
            }
        });
    };
    reload();
    let patch = move |id: i64, body: serde_json::Value| {
        let Some(token) = app.token() else { return };
        spawn_local(async move {
            match api::patch_agent(&token, id, body).await {
                Ok(()) => status.set(t().saved.to_owned()),
                Err(e) => status.set(format!("{}: {}", t().err_generic, e.code)),
            }
            reload();
        });
    };
    view! {
        <main class="cs-admin" data-testid="cs-admin">
            <h2>{move || t().admin}</h2>
            <p data-testid="cs-admin-status" role="status">{move || status.get()}</p>
            <table>
                <thead><tr>
                    <th>{move || t().name}</th><th>"Load"</th><th>{move || t().max_chats}</th>
                    <th>{move || t().role}</th><th>{move || t().level}</th><th>"disabled"</th>
                </tr></thead>
                <tbody>
                    {move || agents.get().into_iter().map(|a| {
                        let id = a.id;
                        view! {
                            <tr data-testid="cs-admin-agent" data-agent-id=id data-agent-name=a.name.clone()>
                                <td>{a.name.clone()}</td>
                                <td>{format!("{} / {}", a.active, a.max)}</td>
                                <td><input type="number" min="0" max="100" data-testid="cs-admin-cap"
                                    prop:value=a.max.to_string()
                                    on:change=move |ev| {
                                        if let Ok(n) = event_target_value(&ev).parse::<u32>() {
                                            patch(id, json!({"max_concurrent_chats": n}));
                                        }
                                    } /></td>
                                <td><select data-testid="cs-admin-role" prop:value=a.role.clone()
                                    on:change=move |ev| patch(id, json!({"role": event_target_value(&ev)}))>
                                    <option value="agent">"agent"</option>
                                    <option value="admin">"admin"</option>
                                </select></td>
                                <td><select data-testid="cs-admin-level" prop:value=a.support_level.clone()
                                    on:change=move |ev| patch(id, json!({"support_level": event_target_value(&ev)}))>
                                    <option value="L1">"L1"</option>
                                    <option value="L2">"L2"</option>
                                    <option value="L3">"L3"</option>
                                </select></td>
                                <td><input type="checkbox" data-testid="cs-admin-disabled" prop:checked=a.disabled
                                    on:change=move |ev| patch(id, json!({"disabled": event_target_checked(&ev)})) /></td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            <NewAgent on_done=reload status=status />
            <CannedAdmin status=status />
            <super::sites::SitesAdmin />
            <crate::tickets::settings::TicketSettings />
        </main>
    }
}

#[component]
fn NewAgent(on_done: impl Fn() + Copy + 'static, status: RwSignal<String>) -> impl IntoView {
    let app = use_app();
    let t = t();
    let email = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let cap = RwSignal::new("3".to_owned());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(token) = app.token() else { return };
        let body = json!({
            "email": email.get_untracked(), "name": name.get_untracked(),
            "password": password.get_untracked(),
            "max_concurrent_chats": cap.get_untracked().parse::<u32>().unwrap_or(3),
        });
        spawn_local(async move {
            match api::create_agent(&token, body).await {
                Ok(()) => {
                    status.set(t().saved.to_owned());
                    email.set(String::new());
                    name.set(String::new());
                    password.set(String::new());
                }
                Err(e) => status.set(format!("{}: {}", t().err_generic, e.code)),
            }
            on_done();
        });
    };
    let field = move |sig: RwSignal<String>, kind: &'static str, testid: &'static str| {
        view! {
            <input type=kind data-testid=testid required prop:value=move || sig.get()
                on:input=move |ev| sig.set(event_target_value(&ev)) />
        }
    };
    view! {
        <form class="cs-new-agent" data-testid="cs-admin-new" on:submit=submit>
            <label>{move || t().email} {field(email, "email", "cs-admin-new-email")}</label>
            <label>{move || t().name} {field(name, "text", "cs-admin-new-name")}</label>
            <label>{move || t().password} {field(password, "password", "cs-admin-new-password")}</label>
            <label>{move || t().max_chats} {field(cap, "number", "cs-admin-new-cap")}</label>
            <button type="submit" data-testid="cs-admin-new-submit">{move || t().create}</button>
        </form>
    }
}

#[component]
fn CannedAdmin(status: RwSignal<String>) -> impl IntoView {
    let app = use_app();
    let t = t();
    let shortcut = RwSignal::new(String::new());
    let body = RwSignal::new(String::new());
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(token) = app.token() else { return };
        let (sc, b) = (shortcut.get_untracked(), body.get_untracked());
        spawn_local(async move {
            match api::create_canned(&token, &sc, &sc, &b).await {
                Ok(()) => {
                    shortcut.set(String::new());
                    body.set(String::new());
                    status.set(t().saved.to_owned());
                }
                Err(e) => status.set(format!("{}: {}", t().err_generic, e.code)),
            }
            app.load_canned();
        });
    };
    let delete = move |id: i64| {
        let Some(token) = app.token() else { return };
        spawn_local(async move {
            let _ = api::delete_canned(&token, id).await;
            app.load_canned();
        });
    };
    view! {
        <section class="cs-canned" data-testid="cs-canned">
            <h3>{move || t().canned}</h3>
            <ul>
                {move || app.canned.get().into_iter().map(|c| view! {
                    <li data-testid="cs-canned-entry">
                        <code>"/" {c.shortcut.clone()}</code> " " {c.body.clone()}
                        <button type="button" on:click=move |_| delete(c.id)>{move || t().delete}</button>
                    </li>
                }).collect_view()}
            </ul>
            <form on:submit=create>
                <input data-testid="cs-canned-shortcut" placeholder=move || t().shortcut required
                    prop:value=move || shortcut.get() on:input=move |ev| shortcut.set(event_target_value(&ev)) />
                <input data-testid="cs-canned-body" placeholder=move || t().body required
                    prop:value=move || body.get() on:input=move |ev| body.set(event_target_value(&ev)) />
                <button type="submit" data-testid="cs-canned-add">{move || t().create}</button>
            </form>
        </section>
    }
}
