//! Forms before a chat: the pre-chat form (fields as the site asks) and the offline form
//! when nobody is online, with its thank-you.

use super::tr;
use crate::app::use_widget;
use crate::i18n::{t, T};
use crate::model::form::{validate, FieldErrors};
use leptos::prelude::*;
use switchboard_shared::text::MessageBody;
use switchboard_shared::FieldRule;

/// One labelled input with its own error line.
#[component]
fn Field(
    label: T,
    testid: &'static str,
    value: RwSignal<String>,
    #[prop(into)] error: Signal<Option<T>>,
    required: bool,
    #[prop(default = "text")] kind: &'static str,
    #[prop(default = "off")] autocomplete: &'static str,
) -> impl IntoView {
    let w = use_widget();
    let err_id = format!("{testid}-error");
    view! {
        <label class="sb-field">
            <span class="sb-label">
                {tr(label)}
                {required.then_some(view! { <span class="sb-req" aria-hidden="true">" *"</span> })}
            </span>
            <input
                type=kind
                data-testid=testid
                autocomplete=autocomplete
                required=required
                aria-invalid=move || error.get().map(|_| "true")
                aria-describedby=err_id.clone()
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
            />
            <span class="sb-field-error" id=err_id>
                {move || error.get().map(|e| t(w.lang.get(), e))}
            </span>
        </label>
    }
}

#[component]
pub fn PrechatForm() -> impl IntoView {
    let w = use_widget();
    let rules = w.chat.with_untracked(|c| c.site.prechat);
    let contact = Memo::new(move |_| w.chat.with(|c| c.contact.clone()));
    // Prefilled from identify(); later identify() calls fill fields still empty.
    let name = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let customer = RwSignal::new(String::new());
    Effect::new(move |_| {
        let c = contact.get();
        for (sig, v) in [
            (name, c.name),
            (email, c.email),
            (customer, c.customer_number),
        ] {
            if let Some(v) = v {
                if sig.with_untracked(String::is_empty) {
                    sig.set(v);
                }
            }
        }
    });
    let errors = RwSignal::new(FieldErrors::default());
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let r = [rules.name, rules.email, rules.customer_number];
        match validate(
            r,
            &name.get_untracked(),
            &email.get_untracked(),
            &customer.get_untracked(),
        ) {
            Ok(contact) => w.ctl().start_chat(contact),
            Err(e) => errors.set(e),
        }
    };
    view! {
        <form class="sb-form" data-testid="sb-prechat" novalidate on:submit=on_submit>
            <p class="sb-intro">{tr(T::PrechatIntro)}</p>
            {(rules.name != FieldRule::Off).then(|| view! {
                <Field label=T::Name testid="sb-prechat-name" value=name autocomplete="name"
                    error=Signal::derive(move || errors.get().name) required=rules.name == FieldRule::Required/>
            })}
            {(rules.email != FieldRule::Off).then(|| view! {
                <Field label=T::Email testid="sb-prechat-email" value=email kind="email" autocomplete="email"
                    error=Signal::derive(move || errors.get().email) required=rules.email == FieldRule::Required/>
            })}
            {(rules.customer_number != FieldRule::Off).then(|| view! {
                <Field label=T::CustomerNumber testid="sb-prechat-customer" value=customer
                    error=Signal::derive(move || errors.get().customer_number)
                    required=rules.customer_number == FieldRule::Required/>
            })}
            <button type="submit" class="sb-primary" data-testid="sb-prechat-submit">
                {tr(T::StartChat)}
            </button>
        </form>
    }
}

#[component]
pub fn OfflineForm() -> impl IntoView {
    let w = use_widget();
    let c = w.chat.with_untracked(|c| c.contact.clone());
    let name = RwSignal::new(c.name.unwrap_or_default());
    let email = RwSignal::new(c.email.unwrap_or_default());
    let message = RwSignal::new(String::new());
    let errors = RwSignal::new(FieldErrors::default());
    let message_error = RwSignal::new(None::<T>);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        // Somebody has to be able to answer: the e-mail address is required here.
        let contact = validate(
            [FieldRule::Optional, FieldRule::Required, FieldRule::Off],
            &name.get_untracked(),
            &email.get_untracked(),
            "",
        );
        let body = message.get_untracked();
        let body_error = match MessageBody::parse(&body) {
            Ok(_) => None,
            Err(switchboard_shared::ErrorCode::EmptyBody) => Some(T::Required),
            Err(_) => Some(T::TooLong),
        };
        message_error.set(body_error);
        match contact {
            Ok(contact) if body_error.is_none() => {
                errors.set(FieldErrors::default());
                let _ = w.ctl().leave_message(&body, contact);
            }
            Ok(_) => errors.set(FieldErrors::default()),
            Err(e) => errors.set(e),
        }
    };
    view! {
        <form class="sb-form" data-testid="sb-offline" novalidate on:submit=on_submit>
            <p class="sb-intro">{tr(T::OfflineIntro)}</p>
            <Field label=T::Name testid="sb-offline-name" value=name autocomplete="name"
                error=Signal::derive(move || errors.get().name) required=false/>
            <Field label=T::Email testid="sb-offline-email" value=email kind="email" autocomplete="email"
                error=Signal::derive(move || errors.get().email) required=true/>
            <label class="sb-field">
                <span class="sb-label">
                    {tr(T::Message)}
                    <span class="sb-req" aria-hidden="true">" *"</span>
                </span>
                <textarea
                    data-testid="sb-offline-message"
                    rows="4"
                    required
                    aria-invalid=move || message_error.get().map(|_| "true")
                    prop:value=move || message.get()
                    on:input=move |ev| message.set(event_target_value(&ev))
                ></textarea>
                <span class="sb-field-error">{move || message_error.get().map(|e| t(w.lang.get(), e))}</span>
            </label>
            <button type="submit" class="sb-primary" data-testid="sb-offline-submit">
                {tr(T::OfflineSubmit)}
            </button>
        </form>
    }
}

#[component]
pub fn OfflineDone() -> impl IntoView {
    view! {
        <div class="sb-done" data-testid="sb-offline-done" role="status">
            <p>{tr(T::OfflineDone)}</p>
            <crate::ui::after::NewChatButton/>
        </div>
    }
}

/// "Everyone is busy – leave a message instead", after the site's waiting time in the queue.
#[component]
pub fn QueueOffer() -> impl IntoView {
    let w = use_widget();
    let shown = Memo::new(move |_| w.chat.with(|c| c.queue_offer));
    view! {
        <Show when=move || shown.get()>
            <div class="sb-offer" data-testid="sb-queue-offer" role="status">
                <span>{tr(T::QueueOffer)}</span>
                <button
                    type="button"
                    class="sb-secondary"
                    data-testid="sb-leave-instead"
                    on:click=move |_| w.ctl().leave_instead()
                >
                    {tr(T::LeaveInstead)}
                </button>
            </div>
        </Show>
    }
}
