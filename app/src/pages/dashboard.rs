//! The dashboard, the landing page after sign-in: the user's requests, errors, latency,
//! time to first token, tokens and cost over the last hour, day, week or month, as totals,
//! SVG charts (a value per bucket on hover) and the busiest connections, models, keys and
//! collections. An organization's admins can switch to the traffic its connections served.

use leptos::prelude::*;

use crate::api::{dashboard, list_orgs};
use crate::dto::{BreakdownDto, DashboardDto, DashboardPointDto, OrgRole, PERIODS};

#[component]
pub fn DashboardPage() -> impl IntoView {
    let period = RwSignal::new("day".to_owned());
    // "" is the user's own traffic, else an organization's handle.
    let whose = RwSignal::new(String::new());
    let data = Resource::new(
        move || (period.get(), whose.get()),
        |(period, org)| dashboard(period, (!org.is_empty()).then_some(org)),
    );
    let orgs = Resource::new(|| (), |()| list_orgs());
    view! {
        <header class="page-header row spread">
            <h1>"Dashboard"</h1>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let administered: Vec<_> = orgs.await.unwrap_or_default()
                        .into_iter().filter(|o| o.role == OrgRole::Admin).collect();
                    (!administered.is_empty()).then(|| view! {
                        <label class="inline-field">
                            <span>"Traffic of"</span>
                            <select
                                data-testid="dashboard-scope"
                                on:change=move |ev| whose.set(event_target_value(&ev))
                            >
                                <option value="" selected=move || whose.get().is_empty()>"my requests"</option>
                                {administered.into_iter().map(|o| {
                                    let handle = o.handle.clone();
                                    let selected = handle.clone();
                                    view! {
                                        <option value=handle selected=move || whose.get() == selected>
                                            {format!("@{}'s connections", o.handle)}
                                        </option>
                                    }
                                }).collect_view()}
                            </select>
                        </label>
                    })
                })}
            </Transition>
            <div class="segmented" role="group" aria-label="Period">
                {PERIODS.iter().map(|p| {
                    let p = *p;
                    view! {
                        <button
                            type="button"
                            class:selected=move || period.get() == p
                            aria-pressed=move || (period.get() == p).to_string()
                            on:click=move |_| period.set(p.to_owned())
                        >{format!("Last {p}")}</button>
                    }
                }).collect_view()}
            </div>
        </header>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <p class="form-error" role="alert">{e.message}</p> }.into_any(),
                    Ok(d) if d.requests == 0 => view! {
                        <section class="card empty-state" data-testid="dashboard-empty">
                            <p>{format!("No requests in the last {}.", d.period)}</p>
                            <p class="muted">"Point a client at /v1 with one of your API keys (Settings → API Keys) and its traffic shows here."</p>
                        </section>
                    }.into_any(),
                    Ok(d) => view! { <Overview d/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Overview(d: DashboardDto) -> impl IntoView {
    let error_rate = percent(d.errors, d.requests);
    let points = d.points.clone();
    let period = d.period.clone();
    let series = |f: fn(&DashboardPointDto) -> Option<f64>| -> Vec<(i64, Option<f64>)> {
        points.iter().map(|p| (p.t, f(p))).collect()
    };
    let charts = vec![
        (
            "Requests",
            "requests",
            series(|p| Some(p.requests as f64)),
            Unit::Count,
            Style::Bars,
        ),
        (
            "Errors",
            "errors",
            series(|p| Some(p.errors as f64)),
            Unit::Count,
            Style::Bars,
        ),
        (
            "Error rate",
            "error-rate",
            series(|p| (p.requests > 0).then(|| 100.0 * p.errors as f64 / p.requests as f64)),
            Unit::Percent,
            Style::Line,
        ),
        (
            "Latency p50",
            "p50",
            series(|p| p.p50_ms),
            Unit::Ms,
            Style::Line,
        ),
        (
            "Latency p95",
            "p95",
            series(|p| p.p95_ms),
            Unit::Ms,
            Style::Line,
        ),
        (
            "Time to first token p50",
            "ttft",
            series(|p| p.ttft_p50_ms),
            Unit::Ms,
            Style::Line,
        ),
        (
            "Tokens",
            "tokens",
            series(|p| Some(p.tokens as f64)),
            Unit::Count,
            Style::Bars,
        ),
        (
            "Cost",
            "cost",
            series(|p| Some(p.cost_usd)),
            Unit::Usd,
            Style::Bars,
        ),
    ];
    view! {
        <section class="stats" data-testid="dashboard-totals">
            <Stat label="Requests" value=d.requests.to_string() id="requests"/>
            <Stat label="Errors" value=format!("{} ({error_rate})", d.errors) id="errors"/>
            <Stat label="Tokens" value=(d.prompt_tokens + d.completion_tokens).to_string() id="tokens"/>
            <Stat label="Cost" value=format!("${:.4}", d.cost_usd) id="cost"/>
            <Stat label="Latency p50 / p95" value=format!("{} / {}", Unit::Ms.format(d.p50_ms), Unit::Ms.format(d.p95_ms)) id="latency"/>
        </section>
        <section class="charts">
            {charts.into_iter().map(|(title, id, values, unit, style)| view! {
                <Chart title id values unit style period=period.clone()/>
            }).collect_view()}
        </section>
        <section class="breakdowns">
            <Breakdown title="By connection" id="by-connection" rows=d.by_connection/>
            <Breakdown title="By model" id="by-model" rows=d.by_model/>
            <Breakdown title="By API key" id="by-key" rows=d.by_key/>
            <Breakdown title="By collection" id="by-collection" rows=d.by_collection/>
        </section>
    }
}

#[component]
fn Stat(label: &'static str, value: String, id: &'static str) -> impl IntoView {
    view! {
        <div class="stat card" data-testid=format!("stat-{id}")>
            <span class="muted small">{label}</span>
            <strong>{value}</strong>
        </div>
    }
}

#[derive(Clone, Copy)]
enum Unit {
    Count,
    Percent,
    Ms,
    Usd,
}

impl Unit {
    fn format(self, v: Option<f64>) -> String {
        let Some(v) = v else { return "—".into() };
        match self {
            Unit::Count => format!("{v:.0}"),
            Unit::Percent => format!("{v:.1}%"),
            Unit::Ms if v >= 1000.0 => format!("{:.2} s", v / 1000.0),
            Unit::Ms => format!("{v:.0} ms"),
            Unit::Usd => format!("${v:.4}"),
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Style {
    Bars,
    Line,
}

const W: f64 = 600.0;
const H: f64 = 140.0;

/// One series as an SVG chart that scales to its box: bars or a line, the peak on the
/// axis, and each bucket's value in a tooltip (`<title>`) over its column.
#[component]
fn Chart(
    title: &'static str,
    id: &'static str,
    values: Vec<(i64, Option<f64>)>,
    unit: Unit,
    style: Style,
    period: String,
) -> impl IntoView {
    let label = |t: i64| bucket_label(t, &period);
    let n = values.len().max(1) as f64;
    let peak = values.iter().filter_map(|(_, v)| *v).fold(0.0f64, f64::max);
    let scale = if peak > 0.0 { (H - 4.0) / peak } else { 0.0 };
    let col = W / n;
    let y = |v: f64| H - v * scale;
    let marks = match style {
        Style::Bars => values
            .iter()
            .enumerate()
            .filter_map(|(i, (_, v))| v.filter(|v| *v > 0.0).map(|v| (i, v)))
            .map(|(i, v)| view! {
                <rect class="column" x=format!("{:.1}", i as f64 * col + col * 0.1) y=format!("{:.1}", y(v))
                    width=format!("{:.1}", col * 0.8) height=format!("{:.1}", H - y(v))/>
            })
            .collect_view()
            .into_any(),
        Style::Line => {
            let path = values
                .iter()
                .enumerate()
                .filter_map(|(i, (_, v))| v.map(|v| format!("{:.1},{:.1}", i as f64 * col + col / 2.0, y(v))))
                .collect::<Vec<_>>()
                .join(" ");
            // Dots too: a series with one value has no line to draw.
            let dots = values
                .iter()
                .enumerate()
                .filter_map(|(i, (_, v))| v.map(|v| (i, v)))
                .map(|(i, v)| view! {
                    <circle class="dot" cx=format!("{:.1}", i as f64 * col + col / 2.0) cy=format!("{:.1}", y(v)) r="3"/>
                })
                .collect_view();
            view! { <polyline class="line" points=path/> {dots} }.into_any()
        }
    };
    let hovers = values
        .iter()
        .enumerate()
        .map(|(i, (t, v))| {
            let text = format!("{}: {}", label(*t), unit.format(*v));
            view! {
                <rect class="hover" x=format!("{:.1}", i as f64 * col) y="0" width=format!("{col:.1}") height=format!("{H}")>
                    <title>{text}</title>
                </rect>
            }
        })
        .collect_view();
    let first = values.first().map(|(t, _)| label(*t)).unwrap_or_default();
    let last = values.last().map(|(t, _)| label(*t)).unwrap_or_default();
    view! {
        <figure class="card chart-card" data-testid=format!("chart-{id}")>
            <figcaption>
                <span>{title}</span>
                <span class="muted small">{format!("peak {}", unit.format(Some(peak)))}</span>
            </figcaption>
            <svg class="series" viewBox=format!("0 0 {W} {H}") preserveAspectRatio="none" role="img"
                aria-label=format!("{title} over time, peak {}", unit.format(Some(peak)))>
                <line class="axis" x1="0" y1=format!("{H}") x2=format!("{W}") y2=format!("{H}")/>
                {marks}
                {hovers}
            </svg>
            <div class="row spread muted small"><span>{first}</span><span>{last}</span></div>
        </figure>
    }
}

#[component]
fn Breakdown(title: &'static str, id: &'static str, rows: Vec<BreakdownDto>) -> impl IntoView {
    view! {
        <section class="card">
            <h2>{title}</h2>
            {if rows.is_empty() {
                view! { <p class="muted">"Nothing in this period."</p> }.into_any()
            } else {
                view! {
                    <table class="table" data-testid=id>
                        <thead><tr><th>"Name"</th><th>"Requests"</th><th>"Errors"</th><th>"Tokens"</th><th>"Cost"</th></tr></thead>
                        <tbody>
                            {rows.into_iter().map(|r| view! {
                                <tr>
                                    <td>{r.name}</td>
                                    <td>{r.requests}</td>
                                    <td>{r.errors}</td>
                                    <td>{r.tokens}</td>
                                    <td>{format!("${:.4}", r.cost_usd)}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}

fn percent(part: i64, whole: i64) -> String {
    if whole == 0 {
        "0%".into()
    } else {
        format!("{:.1}%", 100.0 * part as f64 / whole as f64)
    }
}

/// A bucket's start in UTC, as precise as the period needs: `HH:MM` within the hour,
/// `MM-DD HH:MM` within a day or a week, `YYYY-MM-DD` for a month.
fn bucket_label(ms: i64, period: &str) -> String {
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000) / 60_000;
    let (y, m, d) = civil_from_days(days);
    let (hh, mm) = (in_day / 60, in_day % 60);
    match period {
        "hour" => format!("{hh:02}:{mm:02} UTC"),
        "day" | "week" => format!("{m:02}-{d:02} {hh:02}:{mm:02} UTC"),
        _ => format!("{y:04}-{m:02}-{d:02}"),
    }
}

/// Days since 1970-01-01 to a (year, month, day) date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_labels_are_utc_dates_and_times() {
        // 2026-12-07T09:30:00Z
        let t = 1_796_635_800_000;
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(bucket_label(t, "hour"), "09:30 UTC");
        assert_eq!(bucket_label(t, "day"), "12-07 09:30 UTC");
        assert_eq!(bucket_label(t, "week"), "12-07 09:30 UTC");
        assert_eq!(bucket_label(t, "month"), "2026-12-07");
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
