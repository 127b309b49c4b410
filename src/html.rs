//! Self-contained HTML reports with SVG plots (drawn with the `plotters` crate), for
//! `simulate --html` and `sweep --html`: one file, no scripts, no external resources, readable
//! offline and attachable to an e-mail.
//!
//! The simulation page shows the day at a glance: the headline numbers (dialer's view beside the
//! truth), agents busy and idle, the queue and the dials in flight, the dial level, the rolling
//! abandon rate, and the wait-time histogram. The sweep page shows the table, the frontier of
//! occupancy against compliance abandon with the recommendation marked, and, for a one-axis
//! sweep, both metrics along the axis.
//!
//! Presentation only: every number comes from a report, samples or a sweep summary.

use crate::report::RunReport;
use crate::sim::sampler::Sample;
use crate::sweep::format_value;
use crate::sweep::results::ResultsFile;
use crate::sweep::summary::SettingSummary;
use plotters::prelude::*;
use std::fmt::Write as _;

const WIDTH: u32 = 900;
const HEIGHT: u32 = 320;
/// Window of the rolling abandon rate.
const ROLLING_WINDOW_S: f64 = 1800.0;

const STYLE: &str = "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:960px;color:#1d2430;padding:0 1rem}\
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #dde2ea;padding-bottom:.3rem}\
.sub{color:#5b6575;margin-top:0}table{border-collapse:collapse;font-variant-numeric:tabular-nums;margin:.5rem 0;font-size:.9rem}\
td,th{padding:.25rem .5rem;border-bottom:1px solid #eef1f5;text-align:right;white-space:nowrap}th{background:#f5f7fa;white-space:normal;vertical-align:bottom}td:first-child,th:first-child{text-align:left}\
.rec{background:#e7f6ec;font-weight:600}.bad{color:#b3261e}.note{color:#5b6575;font-size:.9rem}figure{margin:1rem 0}svg{max-width:100%;height:auto}";

/// Escapes text for HTML.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><style>{STYLE}</style></head>\
         <body>\n{body}\n</body></html>\n",
        escape(title)
    )
}

/// One line of a time series chart.
struct Line<'a> {
    label: &'a str,
    color: RGBColor,
    points: Vec<(f64, f64)>,
}

/// Draws lines over hours of simulated time; returns the SVG.
fn time_chart(title: &str, y_label: &str, lines: &[Line<'_>], y_floor_max: f64) -> String {
    let mut svg = String::new();
    {
        let backend = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT));
        let area = backend.into_drawing_area();
        let _ = area.fill(&WHITE);
        let x_max = lines
            .iter()
            .flat_map(|line| line.points.iter().map(|p| p.0))
            .fold(0.0f64, f64::max)
            .max(1.0 / 60.0);
        let y_max = lines
            .iter()
            .flat_map(|line| line.points.iter().map(|p| p.1))
            .filter(|v| v.is_finite())
            .fold(y_floor_max, f64::max)
            * 1.08;
        let chart = ChartBuilder::on(&area)
            .caption(title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..x_max, 0.0..y_max);
        let Ok(mut chart) = chart else {
            return String::new();
        };
        let _ = chart
            .configure_mesh()
            .x_desc("hours since start")
            .y_desc(y_label)
            .light_line_style(RGBColor(238, 241, 245))
            .draw();
        for line in lines {
            let color = line.color;
            if let Ok(series) = chart.draw_series(LineSeries::new(
                line.points.iter().copied().filter(|p| p.1.is_finite()),
                color.stroke_width(2),
            )) {
                series.label(line.label).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                });
            }
        }
        if lines.len() > 1 {
            let _ = chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(200, 205, 212))
                .position(SeriesLabelPosition::UpperRight)
                .draw();
        }
        let _ = area.present();
    }
    svg
}

fn hours(sample: &Sample) -> f64 {
    sample.at.as_secs_f64() / 3600.0
}

/// The answered-but-not-connected share over the trailing window, from cumulative counts.
fn rolling_abandon(samples: &[Sample]) -> Vec<(f64, f64)> {
    let mut points = Vec::new();
    let mut start = 0;
    for (index, sample) in samples.iter().enumerate() {
        let now = sample.at.as_secs_f64();
        while samples[start].at.as_secs_f64() < now - ROLLING_WINDOW_S {
            start += 1;
        }
        let first = &samples[start];
        let answered = sample.answered - first.answered;
        let connected = sample.connected - first.connected;
        if answered > 0 && index > start {
            let abandoned = answered.saturating_sub(connected);
            points.push((hours(sample), abandoned as f64 / answered as f64 * 100.0));
        }
    }
    points
}

/// A bar chart of connected waits in buckets.
fn wait_histogram(buckets: &[(u64, u64)], bucket_ms: u64) -> String {
    let mut svg = String::new();
    {
        let backend = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT));
        let area = backend.into_drawing_area();
        let _ = area.fill(&WHITE);
        let x_max = buckets
            .last()
            .map_or(1.0, |b| (b.0 + bucket_ms) as f64 / 1000.0);
        let y_max = buckets.iter().map(|b| b.1).max().unwrap_or(1).max(1) as f64 * 1.08;
        let Ok(mut chart) = ChartBuilder::on(&area)
            .caption(
                "Wait from answer to agent (connected calls)",
                ("sans-serif", 18),
            )
            .margin(10)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..x_max, 0.0..y_max)
        else {
            return String::new();
        };
        let _ = chart
            .configure_mesh()
            .x_desc("seconds")
            .y_desc("calls")
            .light_line_style(RGBColor(238, 241, 245))
            .draw();
        let width = bucket_ms as f64 / 1000.0;
        let _ = chart.draw_series(buckets.iter().map(|&(lower, count)| {
            let x = lower as f64 / 1000.0;
            Rectangle::new(
                [(x, 0.0), (x + width * 0.92, count as f64)],
                RGBColor(59, 110, 201).filled(),
            )
        }));
        let _ = area.present();
    }
    svg
}

fn percent(value: f64) -> String {
    format!("{:.2}%", value * 100.0)
}

/// The HTML page of one simulation run.
pub fn simulation_page(
    report: &RunReport,
    samples: &[Sample],
    waits: &[(u64, u64)],
    bucket_ms: u64,
) -> String {
    let mut body = String::new();
    let _ = writeln!(
        body,
        "<h1>Simulated day: {}</h1><p class=\"sub\">seed {} · {} · {:.2} h simulated · trace {}</p>",
        escape(&report.scenario),
        report.seed,
        match report.status {
            crate::sim::switch::RunStatus::Completed => "completed",
            crate::sim::switch::RunStatus::DeadlineReached => "stopped at the deadline",
            crate::sim::switch::RunStatus::Stalled => "STALLED",
        },
        report.simulated_seconds / 3600.0,
        report.trace_hash
    );
    let truth = &report.truth.rates;
    let rows = [
        (
            "attempts",
            report.attempts.to_string(),
            truth.attempts.to_string(),
        ),
        (
            "answered by a person",
            report.answered.to_string(),
            truth.answered.to_string(),
        ),
        (
            "connected to an agent",
            report.connected.to_string(),
            truth.connected.to_string(),
        ),
        (
            "never reached an agent",
            report.abandoned.to_string(),
            truth.abandoned.to_string(),
        ),
        (
            "abandon rate",
            percent(report.abandon_rate),
            percent(truth.abandon_rate),
        ),
        (
            "agent occupancy",
            percent(report.agent_occupancy),
            percent(truth.agent_occupancy),
        ),
        (
            "wait for agent p50 / p90 / p99",
            format!(
                "{} / {} / {} ms",
                report.wait_ms.p50, report.wait_ms.p90, report.wait_ms.p99
            ),
            format!(
                "{} / {} / {} ms",
                truth.wait_ms.p50, truth.wait_ms.p90, truth.wait_ms.p99
            ),
        ),
    ];
    body.push_str("<h2>Headline</h2><table><tr><th></th><th>dialer saw</th><th>truth</th></tr>");
    for (name, engine, truth) in rows {
        let _ = write!(
            body,
            "<tr><td>{name}</td><td>{engine}</td><td>{truth}</td></tr>"
        );
    }
    body.push_str("</table>");
    let _ = writeln!(
        body,
        "<p class=\"note\">The dialer's view comes from switch events; the truth is what happened in the \
         simulated switch. They differ by PortaSwitch's limitation: {} agent misses, {} callers \
         connected after the dialer was told \"terminated\". Queue guard pauses: {}.</p>",
        report.truth.agent_misses,
        report.truth.connected_after_engine_lost_them,
        report.pacing.pauses
    );
    if samples.len() >= 2 {
        let series = |pick: fn(&Sample) -> f64| -> Vec<(f64, f64)> {
            samples.iter().map(|s| (hours(s), pick(s))).collect()
        };
        body.push_str("<h2>The day</h2>");
        let agents = time_chart(
            "Agents",
            "agents",
            &[
                Line {
                    label: "on calls",
                    color: RGBColor(59, 110, 201),
                    points: series(|s| f64::from(s.gauges.agents_on_calls)),
                },
                Line {
                    label: "wrap-up",
                    color: RGBColor(233, 150, 34),
                    points: series(|s| f64::from(s.gauges.agents_in_wrap_up)),
                },
                Line {
                    label: "idle",
                    color: RGBColor(46, 160, 88),
                    points: series(|s| f64::from(s.gauges.agents_idle)),
                },
                Line {
                    label: "logged in",
                    color: RGBColor(120, 128, 140),
                    points: series(|s| f64::from(s.gauges.logged_in)),
                },
            ],
            1.0,
        );
        let queue = time_chart(
            "Queue and dials in flight",
            "calls",
            &[
                Line {
                    label: "in the queue",
                    color: RGBColor(179, 38, 30),
                    points: series(|s| f64::from(s.gauges.queued)),
                },
                Line {
                    label: "dials in flight",
                    color: RGBColor(59, 110, 201),
                    points: series(|s| f64::from(s.gauges.dialing)),
                },
            ],
            1.0,
        );
        let dial_level = time_chart(
            "Dial level (dials in flight per logged-in agent)",
            "lines per agent",
            &[Line {
                label: "dial level",
                color: RGBColor(105, 70, 180),
                points: series(|s| {
                    if s.gauges.logged_in == 0 {
                        0.0
                    } else {
                        f64::from(s.gauges.dialing) / f64::from(s.gauges.logged_in)
                    }
                }),
            }],
            0.5,
        );
        let abandon = time_chart(
            "Abandon rate, trailing 30 minutes (truth)",
            "% of answered",
            &[Line {
                label: "abandon",
                color: RGBColor(179, 38, 30),
                points: rolling_abandon(samples),
            }],
            3.5,
        );
        for svg in [agents, queue, dial_level, abandon] {
            let _ = write!(body, "<figure>{svg}</figure>");
        }
    }
    if !waits.is_empty() {
        body.push_str("<h2>Waiting</h2>");
        let _ = write!(
            body,
            "<figure>{}</figure>",
            wait_histogram(waits, bucket_ms)
        );
    }
    page(&format!("dialer: {}", report.scenario), &body)
}

/// The HTML page of a sweep.
pub fn sweep_page(results: &ResultsFile) -> String {
    let spec = &results.spec;
    let mut body = String::new();
    let _ = writeln!(
        body,
        "<h1>Sweep: {}</h1><p class=\"sub\">{} · {} settings × {} seeds · cap {}% · max P(breach) {}</p>",
        escape(&spec.scenario),
        escape(&spec.scenario_file),
        spec.setting_count(),
        spec.seeds,
        format_value(spec.constraints.abandon_cap * 100.0),
        spec.constraints.max_breach_probability
    );
    let Some(summary) = &results.summary else {
        body.push_str("<p class=\"bad\">The sweep is incomplete; no summary.</p>");
        return page("dialer sweep", &body);
    };
    match summary.recommended {
        Some(index) => {
            if let Some(best) = summary.settings.iter().find(|s| s.index == index) {
                let _ = writeln!(
                    body,
                    "<p><b>Recommended: {}</b>: occupancy {} ± {}, compliance abandon {} ± {}, \
                     P(breach over 30 days) {:.3}.</p>",
                    escape(&spec.describe(&best.setting)),
                    percent(best.occupancy.mean),
                    percent(best.occupancy.ci95),
                    percent(best.compliance_abandon.mean),
                    percent(best.compliance_abandon.ci95),
                    best.breach_probability
                );
            }
        }
        None => body.push_str("<p class=\"bad\"><b>No setting meets the constraint.</b></p>"),
    }
    let _ = write!(body, "<figure>{}</figure>", frontier_chart(results));
    if spec.axes.len() == 1 {
        let _ = write!(body, "<figure>{}</figure>", axis_chart(results));
    }
    body.push_str("<h2>Every setting</h2><table><tr>");
    for axis in &spec.axes {
        let _ = write!(body, "<th>{}</th>", escape(&axis.key));
    }
    let show_exhaust = summary.settings.iter().any(|s| s.exhausted_runs > 0);
    body.push_str(
        "<th>occupancy</th><th>compliance abandon</th><th>true abandon</th><th>contacts / agent-hour</th>\
         <th>wait p90</th>",
    );
    if show_exhaust {
        body.push_str("<th>list done</th>");
    }
    body.push_str("<th>P(breach)</th><th></th></tr>");
    for setting in &summary.settings {
        let recommended = summary.recommended == Some(setting.index);
        let _ = write!(
            body,
            "<tr{}>",
            if recommended { " class=\"rec\"" } else { "" }
        );
        for value in &setting.setting.values {
            let _ = write!(body, "<td>{}</td>", format_value(*value));
        }
        let list_done = if show_exhaust {
            format!(
                "<td>{}</td>",
                setting.exhausted_after_s.map_or_else(
                    || "-".to_string(),
                    |e| format!(
                        "{:.2} h ({}/{})",
                        e.mean / 3600.0,
                        setting.exhausted_runs,
                        setting.runs
                    )
                )
            )
        } else {
            String::new()
        };
        let _ = write!(
            body,
            "<td>{} ± {}</td><td>{} ± {}</td><td>{} ± {}</td><td>{:.2} ± {:.2}</td><td>{:.1} s</td>\
             {list_done}<td{}>{:.3}</td><td>{}</td></tr>",
            percent(setting.occupancy.mean),
            percent(setting.occupancy.ci95),
            percent(setting.compliance_abandon.mean),
            percent(setting.compliance_abandon.ci95),
            percent(setting.true_abandon.mean),
            percent(setting.true_abandon.ci95),
            setting.contacts_per_agent_hour.mean,
            setting.contacts_per_agent_hour.ci95,
            setting.wait_p90_ms.mean / 1000.0,
            if setting.feasible {
                ""
            } else {
                " class=\"bad\""
            },
            setting.breach_probability,
            [
                recommended.then_some("recommended"),
                setting.on_frontier.then_some("frontier"),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ")
        );
    }
    body.push_str("</table>");
    let _ = writeln!(
        body,
        "<p class=\"note\">Means with 95% confidence intervals over the seeds; every setting ran the \
         same seeds, so settings meet the same callees. Compliance abandon: answered persons not \
         connected to an agent within {} s. P(breach): the share of bootstrapped 30-day windows \
         (each run one day) whose pooled compliance abandon exceeds the cap.</p>",
        spec.constraints.compliance_wait_s
    );
    page(&format!("dialer sweep: {}", spec.scenario), &body)
}

/// Occupancy against compliance abandon, every setting with its intervals, the frontier joined,
/// the cap drawn and the recommendation marked.
fn frontier_chart(results: &ResultsFile) -> String {
    let Some(summary) = &results.summary else {
        return String::new();
    };
    let spec = &results.spec;
    let cap = spec.constraints.abandon_cap * 100.0;
    let points: Vec<(&SettingSummary, f64, f64)> = summary
        .settings
        .iter()
        .map(|s| {
            (
                s,
                s.compliance_abandon.mean * 100.0,
                s.occupancy.mean * 100.0,
            )
        })
        .collect();
    let x_max = points
        .iter()
        .map(|p| p.1 + p.0.compliance_abandon.ci95 * 100.0)
        .fold(cap, f64::max)
        * 1.1;
    let (y_min, y_max) = points.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| {
        let ci = p.0.occupancy.ci95 * 100.0;
        (lo.min(p.2 - ci), hi.max(p.2 + ci))
    });
    let pad = ((y_max - y_min) * 0.1).max(0.5);
    let mut svg = String::new();
    {
        let backend = SVGBackend::with_string(&mut svg, (WIDTH, 420));
        let area = backend.into_drawing_area();
        let _ = area.fill(&WHITE);
        let Ok(mut chart) = ChartBuilder::on(&area)
            .caption(
                "Occupancy against compliance abandon (95% CI)",
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..x_max, (y_min - pad)..(y_max + pad))
        else {
            return String::new();
        };
        let _ = chart
            .configure_mesh()
            .x_desc("compliance abandon, %")
            .y_desc("agent occupancy, %")
            .light_line_style(RGBColor(238, 241, 245))
            .draw();
        let red = RGBColor(179, 38, 30);
        let _ = chart
            .draw_series(LineSeries::new(
                vec![(cap, y_min - pad), (cap, y_max + pad)],
                red.stroke_width(1),
            ))
            .map(|series| {
                series
                    .label(format!("cap {}%", format_value(cap)))
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], red))
            });
        let grey = RGBColor(120, 128, 140);
        let _ = chart.draw_series(points.iter().map(|(s, x, y)| {
            ErrorBar::new_vertical(
                *x,
                y - s.occupancy.ci95 * 100.0,
                *y,
                y + s.occupancy.ci95 * 100.0,
                grey.stroke_width(1),
                6,
            )
        }));
        let _ = chart.draw_series(points.iter().map(|(s, x, y)| {
            ErrorBar::new_horizontal(
                *y,
                x - s.compliance_abandon.ci95 * 100.0,
                *x,
                x + s.compliance_abandon.ci95 * 100.0,
                grey.stroke_width(1),
                6,
            )
        }));
        let blue = RGBColor(59, 110, 201);
        let frontier: Vec<(f64, f64)> = summary
            .frontier
            .iter()
            .filter_map(|index| points.iter().find(|p| p.0.index == *index))
            .map(|p| (p.1, p.2))
            .collect();
        let _ = chart
            .draw_series(LineSeries::new(frontier, blue.stroke_width(2)))
            .map(|series| {
                series
                    .label("Pareto frontier")
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], blue))
            });
        let _ = chart.draw_series(points.iter().map(|(s, x, y)| {
            let color = if s.feasible { blue } else { red };
            Circle::new((*x, *y), 4, color.filled())
        }));
        if let Some(best) = points
            .iter()
            .find(|p| summary.recommended == Some(p.0.index))
        {
            let green = RGBColor(46, 160, 88);
            let label = format!("recommended: {}", spec.describe(&best.0.setting));
            let _ = chart.draw_series(std::iter::once(Circle::new(
                (best.1, best.2),
                9,
                green.stroke_width(3),
            )));
            // Beside the marker, a little up and to the right, so it covers neither.
            let _ = chart.draw_series(std::iter::once(
                EmptyElement::at((best.1, best.2))
                    + Text::new(
                        label,
                        (14, -22),
                        ("sans-serif", 14).into_font().color(&green),
                    ),
            ));
        }
        let _ = chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(200, 205, 212))
            .position(SeriesLabelPosition::LowerRight)
            .draw();
        let _ = area.present();
    }
    svg
}

/// For a one-axis sweep: occupancy and compliance abandon along the axis, with intervals.
fn axis_chart(results: &ResultsFile) -> String {
    let Some(summary) = &results.summary else {
        return String::new();
    };
    let key = &results.spec.axes[0].key;
    let along = |pick: fn(&SettingSummary) -> (f64, f64)| -> Vec<(f64, f64, f64)> {
        summary
            .settings
            .iter()
            .map(|s| {
                let (mean, ci) = pick(s);
                (s.setting.values[0], mean * 100.0, ci * 100.0)
            })
            .collect()
    };
    let occupancy = along(|s| (s.occupancy.mean, s.occupancy.ci95));
    let abandon = along(|s| (s.compliance_abandon.mean, s.compliance_abandon.ci95));
    let x_min = occupancy.iter().map(|p| p.0).fold(f64::MAX, f64::min);
    let x_max = occupancy.iter().map(|p| p.0).fold(f64::MIN, f64::max);
    let x_pad = ((x_max - x_min) * 0.05).max(0.01);
    let mut svg = String::new();
    {
        let backend = SVGBackend::with_string(&mut svg, (WIDTH, 360));
        let area = backend.into_drawing_area();
        let _ = area.fill(&WHITE);
        let (left, right) = area.split_horizontally(WIDTH / 2);
        for (panel, data, title, color) in [
            (&left, &occupancy, "occupancy, %", RGBColor(59, 110, 201)),
            (
                &right,
                &abandon,
                "compliance abandon, %",
                RGBColor(179, 38, 30),
            ),
        ] {
            let y_max = data.iter().map(|p| p.1 + p.2).fold(0.0f64, f64::max) * 1.1;
            let y_min = data.iter().map(|p| p.1 - p.2).fold(f64::MAX, f64::min);
            let y_min = if title.starts_with("occupancy") {
                (y_min - 2.0).max(0.0)
            } else {
                0.0
            };
            let Ok(mut chart) = ChartBuilder::on(panel)
                .caption(title, ("sans-serif", 16))
                .margin(10)
                .x_label_area_size(36)
                .y_label_area_size(50)
                .build_cartesian_2d((x_min - x_pad)..(x_max + x_pad), y_min..y_max.max(0.1))
            else {
                continue;
            };
            let _ = chart
                .configure_mesh()
                .x_desc(key.as_str())
                .light_line_style(RGBColor(238, 241, 245))
                .draw();
            let _ = chart.draw_series(data.iter().map(|&(x, y, ci)| {
                ErrorBar::new_vertical(x, y - ci, y, y + ci, color.stroke_width(1), 6)
            }));
            let _ = chart.draw_series(LineSeries::new(
                data.iter().map(|&(x, y, _)| (x, y)),
                color.stroke_width(2),
            ));
        }
        let _ = area.present();
    }
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup() {
        assert_eq!(escape("<a & \"b\">"), "&lt;a &amp; &quot;b&quot;&gt;");
    }

    #[test]
    fn a_chart_is_an_svg_with_its_title() {
        let svg = time_chart(
            "Agents",
            "agents",
            &[Line {
                label: "idle",
                color: RGBColor(0, 0, 0),
                points: vec![(0.0, 1.0), (1.0, 3.0)],
            }],
            1.0,
        );
        assert!(svg.starts_with("<svg"), "{}", &svg[..40.min(svg.len())]);
        assert!(svg.contains("Agents"));
        assert!(svg.contains("<polyline") || svg.contains("<path"));
    }
}
