//! E-mail and password → `POST /api/v1/auth/login` → the workspace.

use super::t;
use crate::api;
use crate::app::use_app;
use leptos::prelude::*;
use leptos::task::spawn_local;

#[component]
pub fn LoginForm() -> impl IntoView {
    let app = use_app();
    let t = t();
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    // Why the last attempt failed: `Some(true)` throttled (429), `Some(false)` refused.
    let failed = RwSignal::new(None::<bool>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        busy.set(true);
        // Asked here, on a click: browsers only allow the prompt after a user gesture.
        let _ = web_sys::Notification::request_permission();
        spawn_local(async move {
            match api::login(&email.get_untracked(), &password.get_untracked()).await {
                Ok(login) => {
                    failed.set(None);
                    app.start(login);
                }
                Err(e) => failed.set(Some(e.status == 429)),
            }
            busy.set(false);
        });
    };
    view! {
        <form class="cs-login" data-testid="cs-login" on:submit=submit>
            <h1>{move || t().title}</h1>
            <label>
                {move || t().email}
                <input type="email" autocomplete="username" required data-testid="cs-login-email"
                    prop:value=move || email.get()
                    on:input=move |ev| email.set(event_target_value(&ev)) />
            </label>
            <label>
                {move || t().password}
                <input type="password" autocomplete="current-password" required
                    data-testid="cs-login-password"
                    prop:value=move || password.get()
                    on:input=move |ev| password.set(event_target_value(&ev)) />
            </label>
            <Show when=move || failed.get().is_some()>
                <p class="cs-error" role="alert" data-testid="cs-login-error">
                    {move || if failed.get() == Some(true) { t().login_throttled } else { t().bad_login }}
                </p>
            </Show>
            <button type="submit" data-testid="cs-login-submit" disabled=move || busy.get()>
                {move || t().login}
            </button>
            <button type="button" class="cs-lang" data-testid="cs-lang"
                on:click=move |_| app.lang.update(|l| *l = l.other())>
                {move || app.lang.get().other().code().to_uppercase()}
            </button>
        </form>
    }
}
