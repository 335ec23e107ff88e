//! For admins: each site's allowed origins, widget colour, position and greeting, pre-chat
//! fields, business hours and time zone, offline behaviour and ticket settings. One form
//! per site; saving sends the site (PATCH) and its hours (PUT). The relay validates: its
//! message for a refused field is shown as it is.

use super::t;
use crate::api::{self, Hours, Site};
use crate::app::use_app;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::json;
use switchboard_shared::{FieldRule, OfflineBehaviour, WidgetPosition};

#[component]
pub fn SitesAdmin() -> impl IntoView {
    let app = use_app();
    let t = t();
    let sites = RwSignal::new(Vec::<Site>::new());
    if let Some(token) = app.token() {
        spawn_local(async move {
            if let Ok(list) = api::sites(&token).await {
                sites.set(list);
            }
        });
    }
    view! {
        <section class="cs-sites" data-testid="cs-sites">
            <h3>{move || t().sites}</h3>
            <For each=move || sites.get() key=|s| s.id.clone() let:site>
                <SiteForm site=site />
            </For>
        </section>
    }
}

const RULES: [FieldRule; 3] = [FieldRule::Off, FieldRule::Optional, FieldRule::Required];

fn rule_str(r: FieldRule) -> &'static str {
    match r {
        FieldRule::Off => "off",
        FieldRule::Optional => "optional",
        FieldRule::Required => "required",
    }
}

/// `"08:30"` ↔ minutes after midnight.
fn hhmm(minutes: u32) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

fn minutes(hhmm: &str) -> Option<u32> {
    let (h, m) = hhmm.split_once(':')?;
    let (h, m) = (h.parse::<u32>().ok()?, m.parse::<u32>().ok()?);
    (h <= 24 && m < 60 && h * 60 + m <= 1440).then_some(h * 60 + m)
}

/// One day of the week as edited: open, opens, closes.
#[derive(Clone, Copy)]
struct Day {
    open: RwSignal<bool>,
    from: RwSignal<String>,
    to: RwSignal<String>,
}

#[component]
fn SiteForm(site: Site) -> impl IntoView {
    let app = use_app();
    let t = t();
    let id = site.id.clone();
    let name = RwSignal::new(site.name.clone());
    let origins = RwSignal::new(site.allowed_origins.join("\n"));
    let accent = RwSignal::new(site.accent.clone().unwrap_or_default());
    let position = RwSignal::new(site.position);
    let greeting = RwSignal::new(site.greeting.clone().unwrap_or_default());
    let prechat = [
        RwSignal::new(site.prechat.name),
        RwSignal::new(site.prechat.email),
        RwSignal::new(site.prechat.customer_number),
    ];
    let offline = RwSignal::new(site.offline_behaviour);
    let offer = RwSignal::new(site.queue_offer_message_after_secs.to_string());
    let to_ticket = RwSignal::new(site.unresolved_to_ticket);
    let within_hours = RwSignal::new(site.chat_within_hours);
    let timezone = RwSignal::new(String::new());
    let days: [Day; 7] = std::array::from_fn(|_| Day {
        open: RwSignal::new(false),
        from: RwSignal::new("08:00".to_owned()),
        to: RwSignal::new("17:00".to_owned()),
    });
    // Hours come from their own endpoint; the form shows the defaults until they arrive.
    if let Some(token) = app.token() {
        let id = id.clone();
        spawn_local(async move {
            if let Ok(h) = api::business_hours(&token, &id).await {
                timezone.set(h.timezone);
                for (day, w) in days.iter().zip(h.week) {
                    day.open.set(w.is_some());
                    if let Some([from, to]) = w {
                        day.from.set(hhmm(from));
                        day.to.set(hhmm(to));
                    }
                }
            }
        });
    }
    // `None`: not saved yet; `Some(Ok)` saved; `Some(Err(message))` refused.
    let result = RwSignal::new(None::<Result<(), String>>);
    let save = {
        let id = id.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let Some(token) = app.token() else { return };
            let tt = t();
            let Ok(offer_secs) = offer.get_untracked().trim().parse::<u32>() else {
                result.set(Some(Err(format!("{}: 0 – 3600", tt.offer_after))));
                return;
            };
            let mut week = Vec::with_capacity(7);
            for (i, d) in days.iter().enumerate() {
                if !d.open.get_untracked() {
                    week.push(None);
                    continue;
                }
                match (
                    minutes(&d.from.get_untracked()),
                    minutes(&d.to.get_untracked()),
                ) {
                    (Some(a), Some(b)) => week.push(Some([a, b])),
                    _ => {
                        result.set(Some(Err(format!("{}: {}", tt.hours, tt.days[i]))));
                        return;
                    }
                }
            }
            let hours = Hours {
                timezone: timezone.get_untracked().trim().to_owned(),
                week,
            };
            let [pn, pe, pc] = prechat.map(|r| rule_str(r.get_untracked()));
            let body = json!({
                "name": name.get_untracked(),
                "allowed_origins": origins.get_untracked().lines().map(str::trim)
                    .filter(|o| !o.is_empty()).collect::<Vec<_>>(),
                "accent": Some(accent.get_untracked()).filter(|a| !a.trim().is_empty()),
                "position": position.get_untracked(),
                "greeting": Some(greeting.get_untracked()).filter(|g| !g.trim().is_empty()),
                "prechat": {"name": pn, "email": pe, "customer_number": pc},
                "offline_behaviour": offline.get_untracked(),
                "queue_offer_message_after_secs": offer_secs,
                "unresolved_to_ticket": to_ticket.get_untracked(),
                "chat_within_hours": within_hours.get_untracked(),
            });
            let id = id.clone();
            result.set(None);
            spawn_local(async move {
                // The site first: when it is refused, the hours are not sent either.
                let saved = match api::patch_site(&token, &id, body).await {
                    Ok(_) => api::set_business_hours(&token, &id, &hours)
                        .await
                        .map(|_| ()),
                    Err(e) => Err(e),
                };
                result.set(Some(saved.map_err(|e| {
                    if e.message.is_empty() {
                        e.code
                    } else {
                        e.message
                    }
                })));
            });
        }
    };
    let text = move |sig: RwSignal<String>, testid: &'static str| {
        view! {
            <input type="text" data-testid=testid prop:value=move || sig.get()
                on:input=move |ev| sig.set(event_target_value(&ev)) />
        }
    };
    view! {
        <form class="cs-site" data-testid="cs-site" data-site-id=id.clone() on:submit=save>
            <h4>{id.clone()}</h4>
            <label>{move || t().name} {text(name, "cs-site-name")}</label>
            <label>{move || t().origins} <small>{move || t().origins_hint}</small>
                <textarea data-testid="cs-site-origins" rows="3" prop:value=move || origins.get()
                    on:input=move |ev| origins.set(event_target_value(&ev))></textarea>
            </label>
            <label>{move || t().accent}
                <span class="cs-row">
                    <input type="color" aria-label=move || t().accent
                        prop:value=move || long_hex(&accent.get())
                        on:input=move |ev| accent.set(event_target_value(&ev)) />
                    {text(accent, "cs-site-accent")}
                </span>
            </label>
            <label>{move || t().position}
                <select data-testid="cs-site-position"
                    prop:value=move || position.get().as_str()
                    on:change=move |ev| if let Some(p) = WidgetPosition::parse(&event_target_value(&ev)) { position.set(p) }>
                    <option value="right">{move || t().right}</option>
                    <option value="left">{move || t().left}</option>
                </select>
            </label>
            <label>{move || t().greeting}
                <textarea data-testid="cs-site-greeting" rows="2" maxlength="300"
                    prop:value=move || greeting.get()
                    on:input=move |ev| greeting.set(event_target_value(&ev))></textarea>
            </label>
            <fieldset>
                <legend>{move || t().prechat}</legend>
                {[("name", 0usize), ("email", 1), ("customer_number", 2)].into_iter().map(|(field, i)| {
                    let sig = prechat[i];
                    let label = move || match i { 0 => t().name, 1 => t().email, _ => t().customer_number };
                    view! {
                        <label>{label}
                            <select data-testid=format!("cs-site-prechat-{field}")
                                prop:value=move || rule_str(sig.get())
                                on:change=move |ev| {
                                    let v = event_target_value(&ev);
                                    if let Some(r) = RULES.into_iter().find(|r| rule_str(*r) == v) { sig.set(r) }
                                }>
                                {RULES.into_iter().enumerate().map(|(j, r)| view! {
                                    <option value=rule_str(r)>{move || t().rules[j]}</option>
                                }).collect_view()}
                            </select>
                        </label>
                    }
                }).collect_view()}
            </fieldset>
            <fieldset data-testid="cs-site-hours">
                <legend>{move || t().hours}</legend>
                <label>{move || t().timezone} {text(timezone, "cs-site-timezone")}</label>
                {days.into_iter().enumerate().map(|(i, d)| view! {
                    <div class="cs-day" data-testid="cs-site-day">
                        <label><input type="checkbox" prop:checked=move || d.open.get()
                            on:change=move |ev| d.open.set(event_target_checked(&ev)) />
                            {move || t().days[i]}</label>
                        <Show when=move || d.open.get()
                            fallback=move || view! { <span class="cs-muted">{move || t().closed}</span> }>
                            <input type="time" prop:value=move || d.from.get()
                                on:input=move |ev| d.from.set(event_target_value(&ev)) />
                            "–"
                            <input type="time" prop:value=move || d.to.get()
                                on:input=move |ev| d.to.set(event_target_value(&ev)) />
                        </Show>
                    </div>
                }).collect_view()}
            </fieldset>
            <label>{move || t().offline}
                <select data-testid="cs-site-offline"
                    prop:value=move || offline.get().as_str()
                    on:change=move |ev| if let Some(o) = OfflineBehaviour::parse(&event_target_value(&ev)) { offline.set(o) }>
                    <option value="form">{move || t().offline_form}</option>
                    <option value="hide">{move || t().offline_hide}</option>
                </select>
            </label>
            <label>{move || t().offer_after}
                <input type="number" min="0" max="3600" data-testid="cs-site-offer-after"
                    prop:value=move || offer.get() on:input=move |ev| offer.set(event_target_value(&ev)) />
            </label>
            <label class="cs-row">
                <input type="checkbox" data-testid="cs-site-unresolved-to-ticket"
                    prop:checked=move || to_ticket.get()
                    on:change=move |ev| to_ticket.set(event_target_checked(&ev)) />
                {move || t().unresolved_to_ticket}
            </label>
            <label class="cs-row">
                <input type="checkbox" data-testid="cs-site-chat-within-hours"
                    prop:checked=move || within_hours.get()
                    on:change=move |ev| within_hours.set(event_target_checked(&ev)) />
                {move || t().chat_within_hours}
            </label>
            <button type="submit" data-testid="cs-site-save">{move || t().save}</button>
            <p role="status" data-testid="cs-site-status"
                data-state=move || match result.get() { None => "", Some(Ok(())) => "saved", Some(Err(_)) => "refused" }
                class:cs-refused=move || matches!(result.get(), Some(Err(_)))>
                {move || match result.get() {
                    None => String::new(),
                    Some(Ok(())) => t().saved.to_owned(),
                    Some(Err(why)) => format!("{}: {why}", t().err_generic),
                }}
            </p>
        </form>
    }
}

/// `<input type=color>` only takes `#rrggbb`: `#c33` becomes `#cc3333`, anything else black.
fn long_hex(c: &str) -> String {
    let hex = c.trim().trim_start_matches('#');
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return "#000000".into();
    }
    match hex.len() {
        6 => format!("#{}", hex.to_ascii_lowercase()),
        3 => hex.chars().fold(String::from("#"), |mut s, ch| {
            s.push(ch.to_ascii_lowercase());
            s.push(ch.to_ascii_lowercase());
            s
        }),
        _ => "#000000".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_colours_convert_for_the_inputs() {
        assert_eq!(minutes("08:30"), Some(510));
        assert_eq!(minutes("24:00"), Some(1440));
        assert_eq!(minutes("24:30"), None);
        assert_eq!(hhmm(1020), "17:00");
        assert_eq!(long_hex("#C33"), "#cc3333");
        assert_eq!(long_hex("#1f6feb"), "#1f6feb");
        assert_eq!(long_hex("blau"), "#000000");
    }
}
