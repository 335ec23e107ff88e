//! The dashboard: date range and site, the KPI cards, volume charts, the per-agent and
//! per-level tables, and the CSV export (fetched with the token, offered as a Blob URL,
//! since a plain link could not send the bearer header).

use super::api::{self, AgentKpis, Kpis, LevelKpis, Range, Report, SiteName, DAY_MS};
use super::charts::BarChart;
use super::i18n::{decimal, duration, percent, rt, ReportTexts};
use crate::app::{now, use_app};
use crate::i18n::{category_label, Lang, PRIORITIES};
use crate::tickets::error_text;
use crate::tickets::i18n::{channel_label, priority_label};
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;

/// The range shown first: the last 30 days including today (UTC dates).
fn default_range() -> Range {
    let today = now().div_euclid(DAY_MS);
    Range {
        from: api::date(today - 29),
        to: api::date(today),
        site: String::new(),
    }
}

#[component]
pub fn Dashboard() -> impl IntoView {
    let app = use_app();
    let t = rt();
    let range = RwSignal::new(default_range());
    let report = RwSignal::new(None::<Report>);
    let error = RwSignal::new(None::<String>);
    let loading = RwSignal::new(false);
    let sites = RwSignal::new(Vec::<SiteName>::new());
    let csv = RwSignal::new(None::<(String, String)>);
    let csv_busy = RwSignal::new(false);
    let load = move || {
        let Some(token) = app.token() else { return };
        let r = range.get_untracked();
        loading.set(true);
        spawn_local(async move {
            let answer = api::kpis(&token, &r).await;
            loading.set(false);
            match answer {
                Ok(rep) => {
                    error.set(None);
                    report.set(Some(rep));
                }
                Err(e) => {
                    let tt = crate::tickets::i18n::texts(app.lang.get_untracked());
                    let text = if e.status == 422 {
                        format!("{} ({})", t().err_range, e.message)
                    } else {
                        error_text(tt, &e)
                    };
                    error.set(Some(text));
                }
            }
        });
    };
    load();
    if let Some(token) = app.token() {
        spawn_local(async move {
            if let Ok(list) = api::site_names(&token).await {
                sites.set(list);
            }
        });
    }
    let download = move |_| {
        let Some(token) = app.token() else { return };
        let r = range.get_untracked();
        csv_busy.set(true);
        spawn_local(async move {
            let answer = api::kpis_csv(&token, &r).await;
            csv_busy.set(false);
            match answer {
                Ok(text) => match blob_url(&text) {
                    Some(url) => {
                        let name = r.file_name();
                        click_download(&url, &name);
                        // `try_`: the dashboard may have been left meanwhile.
                        if let Some((old, _)) = csv.try_get_untracked().flatten() {
                            let _ = web_sys::Url::revoke_object_url(&old);
                        }
                        csv.set(Some((url, name)));
                    }
                    None => error.set(Some("Blob".to_owned())),
                },
                Err(e) => {
                    let tt = crate::tickets::i18n::texts(app.lang.get_untracked());
                    error.set(Some(error_text(tt, &e)));
                }
            }
        });
    };
    on_cleanup(move || {
        if let Some((old, _)) = csv.try_get_untracked().flatten() {
            let _ = web_sys::Url::revoke_object_url(&old);
        }
    });
    let date_input =
        move |testid: &'static str, get: fn(&Range) -> String, set: fn(&mut Range, String)| {
            view! {
                <input type="date" data-testid=testid required prop:value=move || range.with(get)
                    on:change=move |ev| range.update(|r| set(r, event_target_value(&ev))) />
            }
        };
    view! {
        <main class="rp-dashboard" data-testid="rp-dashboard">
            <h2>{move || t().reports}</h2>
            <form class="rp-range" data-testid="rp-range"
                on:submit=move |ev| { ev.prevent_default(); load(); }>
                <label>{move || t().from} " " {date_input("rp-from", |r| r.from.clone(), |r, v| r.from = v)}</label>
                <label>{move || t().to} " " {date_input("rp-to", |r| r.to.clone(), |r, v| r.to = v)}</label>
                <label>{move || t().site} " "
                    <select data-testid="rp-site" prop:value=move || range.with(|r| r.site.clone())
                        on:change=move |ev| range.update(|r| r.site = event_target_value(&ev))>
                        <option value="">{move || t().all_sites}</option>
                        {move || sites.get().into_iter().map(|s| view! {
                            <option value=s.id.clone()>{s.name}</option>
                        }).collect_view()}
                    </select>
                </label>
                <button type="submit" data-testid="rp-show">{move || t().show}</button>
                <button type="button" data-testid="rp-csv" disabled=move || csv_busy.get() on:click=download>
                    {move || t().csv}
                </button>
                {move || csv.get().map(|(url, name)| view! {
                    <a class="rp-csv-link" data-testid="rp-csv-link" href=url download=name.clone()>
                        {move || t().csv_ready} ": " {name.clone()}
                    </a>
                })}
            </form>
            <Show when=move || error.with(|e| e.is_some())>
                <p class="cs-error" role="alert" data-testid="rp-error">{move || error.get()}</p>
            </Show>
            <Show when=move || loading.get()>
                <p class="cs-empty">{move || t().loading}</p>
            </Show>
            {move || report.get().map(|r| view! { <Body report=r /> })}
        </main>
    }
}

/// Everything drawn from one report.
#[component]
fn Body(report: Report) -> impl IntoView {
    let app = use_app();
    let t = rt();
    let o = report.overall.clone();
    let v = o.volume.clone();
    let channel_items = move || {
        let tt = crate::tickets::i18n::texts(app.lang.get());
        v.tickets_by_channel
            .iter()
            .map(|(k, n)| (channel_label(tt, k), *n))
            .collect::<Vec<_>>()
    };
    let category_items = {
        let v = o.volume.clone();
        move || {
            let lang = app.lang.get();
            v.tickets_by_category
                .iter()
                .map(|(k, n)| (category_label(lang, k), *n))
                .collect::<Vec<_>>()
        }
    };
    // Priorities in their natural order, not alphabetically.
    let priority_items = {
        let v = o.volume.clone();
        move || {
            let lang = app.lang.get();
            PRIORITIES
                .iter()
                .map(|p| {
                    (
                        priority_label(lang, p),
                        v.tickets_by_priority.get(*p).copied().unwrap_or(0),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    let title = move |f: fn(&ReportTexts) -> &'static str| Signal::derive(move || f(t()));
    view! {
        <p class="rp-generated">{move || t().generated} ": " {crate::tickets::date_time(report.generated_at)}</p>
        {move || cards(t(), app.lang.get(), &o)}
        <div class="rp-charts">
            {move || view! { <BarChart title=title(|t| t.by_channel) testid="rp-chart-channel" items=channel_items() /> }}
            {move || view! { <BarChart title=title(|t| t.by_category) testid="rp-chart-category" items=category_items() /> }}
            {move || view! { <BarChart title=title(|t| t.by_priority) testid="rp-chart-priority" items=priority_items() /> }}
        </div>
        <h3>{move || t().per_agent}</h3>
        {
            let rows = report.by_agent.clone();
            move || group_table(t(), app.lang.get(), "rp-agents", true, agent_rows(t(), &rows))
        }
        <h3>{move || t().per_level}</h3>
        {
            let rows = report.by_level.clone();
            move || group_table(t(), app.lang.get(), "rp-levels", false, level_rows(t(), &rows))
        }
    }
}

/// One KPI card: its name, the main number, and a line of detail.
fn card(
    testid: &'static str,
    label: impl Into<String>,
    value: String,
    detail: String,
) -> impl IntoView {
    let shown = value.clone();
    view! {
        <div class="rp-card" data-testid=testid data-value=value>
            <span class="rp-card-label">{label.into()}</span>
            <strong class="rp-card-value">{shown}</strong>
            <span class="rp-card-detail">{detail}</span>
        </div>
    }
}

fn cards(t: &'static ReportTexts, lang: Lang, o: &Kpis) -> impl IntoView {
    let fr = &o.first_response;
    let fcr = &o.first_contact_resolution;
    let csat = &o.csat;
    let sla = &o.sla;
    let share = |r: &api::Rate| format!("{} {} {}", r.met, t.of, r.eligible);
    view! {
        <div class="rp-cards" data-testid="rp-cards">
            {card("rp-kpi-volume", t.volume, (o.volume.chats + o.volume.tickets).to_string(),
                format!("{} {} · {} {}", o.volume.chats, t.chats, o.volume.tickets, t.tickets))}
            {card("rp-kpi-frt-chats", format!("{} · {}", t.first_response, t.chats), duration(fr.chats.mean_ms),
                format!("{} {} · n = {}", t.median, duration(fr.chats.median_ms), fr.chats.count))}
            {card("rp-kpi-frt-tickets", format!("{} · {}", t.first_response, t.tickets), duration(fr.tickets.mean_ms),
                format!("{} {} · n = {}", t.median, duration(fr.tickets.median_ms), fr.tickets.count))}
            {card("rp-kpi-fcr", t.fcr, percent(lang, fcr.chats.rate),
                format!("{}: {} · {}: {} ({})", t.chats, share(&fcr.chats), t.tickets,
                    percent(lang, fcr.tickets.rate), share(&fcr.tickets)))}
            {card("rp-kpi-aht", t.aht, duration(o.handle_time.mean_ms),
                format!("{} {} · n = {}", t.median, duration(o.handle_time.median_ms), o.handle_time.count))}
            {card("rp-kpi-ttr", t.resolution_time, duration(o.resolution_time.mean_ms),
                format!("{} {} · n = {}", t.median, duration(o.resolution_time.median_ms), o.resolution_time.count))}
            {card("rp-kpi-csat", t.csat, percent(lang, csat.all.rate),
                format!("{} {} · {} {}", t.mean,
                    csat.all.average.map_or_else(|| "–".to_owned(), |a| decimal(lang, a, 2) + " / 5"),
                    csat.all.count, t.ratings))}
            {card("rp-kpi-sla", t.sla, percent(lang, sla.first_response.rate),
                format!("{}: {} · {}: {} ({})", t.sla_first, share(&sla.first_response), t.sla_resolution,
                    percent(lang, sla.resolution.rate), share(&sla.resolution)))}
        </div>
    }
}

/// A table row: the group's name (and level), its KPIs, and an id for tests.
struct Row {
    id: String,
    name: String,
    level: String,
    kpis: Kpis,
}

fn agent_rows(t: &ReportTexts, rows: &[AgentKpis]) -> Vec<Row> {
    rows.iter()
        .map(|a| Row {
            id: a.agent_id.map(|i| i.to_string()).unwrap_or_default(),
            name: a.agent_name.clone().unwrap_or_else(|| t.nobody.to_owned()),
            level: a.support_level.clone().unwrap_or_default(),
            kpis: a.kpis.clone(),
        })
        .collect()
}

fn level_rows(t: &ReportTexts, rows: &[LevelKpis]) -> Vec<Row> {
    rows.iter()
        .map(|l| Row {
            id: l.support_level.clone().unwrap_or_default(),
            name: l
                .support_level
                .clone()
                .unwrap_or_else(|| t.no_level.to_owned()),
            level: String::new(),
            kpis: l.kpis.clone(),
        })
        .collect()
}

fn group_table(
    t: &'static ReportTexts,
    lang: Lang,
    testid: &'static str,
    with_level: bool,
    rows: Vec<Row>,
) -> impl IntoView {
    view! {
        <table class="rp-table" data-testid=testid>
            <thead><tr>
                <th>{if with_level { t.agent } else { t.level }}</th>
                {with_level.then(|| view! { <th>{t.level}</th> })}
                <th>{t.chats}</th><th>{t.tickets}</th>
                <th>{format!("{} ({} / {}, {})", t.first_response, t.chats, t.tickets, t.median)}</th>
                <th>{t.aht}</th><th>{t.resolution_time}</th><th>{t.fcr}</th>
                <th>{t.csat}</th><th>{t.sla_first}</th><th>{t.sla_resolution}</th>
            </tr></thead>
            <tbody>
                {rows.into_iter().map(|r| {
                    let k = r.kpis;
                    view! {
                        <tr data-testid="rp-row" data-group=r.id data-tickets=k.volume.tickets data-chats=k.volume.chats>
                            <td>{r.name}</td>
                            {with_level.then(|| view! { <td>{r.level}</td> })}
                            <td>{k.volume.chats}</td>
                            <td>{k.volume.tickets}</td>
                            <td>{duration(k.first_response.chats.median_ms)} " / " {duration(k.first_response.tickets.median_ms)}</td>
                            <td>{duration(k.handle_time.mean_ms)}</td>
                            <td>{duration(k.resolution_time.mean_ms)}</td>
                            <td>{percent(lang, k.first_contact_resolution.chats.rate)}</td>
                            <td>{percent(lang, k.csat.all.rate)}</td>
                            <td>{percent(lang, k.sla.first_response.rate)}</td>
                            <td>{percent(lang, k.sla.resolution.rate)}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// A `blob:` URL holding `text` as a UTF-8 CSV file.
fn blob_url(text: &str) -> Option<String> {
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type("text/csv;charset=utf-8");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts).ok()?;
    web_sys::Url::create_object_url_with_blob(&blob).ok()
}

/// Starts the download at once (the link stays on the page for another click).
fn click_download(url: &str, name: &str) {
    let doc = crate::app::document();
    let Ok(a) = doc.create_element("a") else {
        return;
    };
    let _ = a.set_attribute("href", url);
    let _ = a.set_attribute("download", name);
    if let Ok(a) = a.dyn_into::<web_sys::HtmlElement>() {
        a.click();
    }
}
