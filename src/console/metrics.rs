//! `/metrics`: the console's campaigns in Prometheus's text exposition format (version 0.0.4).
//!
//! Every per-campaign series carries `campaign="<id>"`; `dialer_campaign_info` maps ids to
//! names, kinds and phases. Gauges come from each campaign's last status sample (taken every
//! second while it runs); counters (outcomes, webhook requests, PortaSwitch requests and the
//! latency histogram) only grow over a campaign's life.
//!
//! Formatting only: [`render`] is a pure function of what it is given.

use super::manager::{CampaignView, Phase};
use crate::campaign::feed::CampaignStatus;
use crate::portaswitch::latency::LatencySnapshot;
use std::fmt::Write as _;

/// A family read from each campaign's status: name, help, value.
type Series = (&'static str, &'static str, fn(&CampaignStatus) -> f64);

/// One campaign's part of a scrape.
pub struct MetricsInput {
    pub view: CampaignView,
    pub latencies: Vec<(String, LatencySnapshot)>,
    pub subscribers: usize,
}

/// Escapes a label value.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Writes families of samples, each with its `# HELP` and `# TYPE` once.
struct Exposition {
    text: String,
}

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.text, "# HELP {name} {help}");
        let _ = writeln!(self.text, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.text.push_str(name);
        if !labels.is_empty() {
            self.text.push('{');
            for (index, (key, value)) in labels.iter().enumerate() {
                if index > 0 {
                    self.text.push(',');
                }
                let _ = write!(self.text, "{key}=\"{}\"", escape(value));
            }
            self.text.push('}');
        }
        if value.is_finite() && value.fract() == 0.0 && value.abs() < 1e15 {
            let _ = writeln!(self.text, " {}", value as i64);
        } else {
            let _ = writeln!(self.text, " {value}");
        }
    }
}

/// Renders a scrape of every campaign.
pub fn render(campaigns: &[MetricsInput]) -> String {
    let mut out = Exposition {
        text: String::with_capacity(4096 + campaigns.len() * 4096),
    };
    let ids: Vec<String> = campaigns.iter().map(|c| c.view.id.to_string()).collect();

    out.family(
        "dialer_campaigns",
        "gauge",
        "Campaigns in the console by phase.",
    );
    for phase in Phase::ALL {
        let count = campaigns.iter().filter(|c| c.view.phase == phase).count();
        out.sample(
            "dialer_campaigns",
            &[("phase", phase.as_str())],
            count as f64,
        );
    }

    out.family(
        "dialer_campaign_info",
        "gauge",
        "A campaign's name, kind and phase (always 1).",
    );
    for (input, id) in campaigns.iter().zip(&ids) {
        let kind = match input.view.kind {
            super::manager::Kind::Live => "live",
            super::manager::Kind::Playback => "playback",
        };
        out.sample(
            "dialer_campaign_info",
            &[
                ("campaign", id),
                ("name", &input.view.name),
                ("kind", kind),
                ("phase", input.view.phase.as_str()),
            ],
            1.0,
        );
    }

    let with_status: Vec<(&CampaignStatus, &String)> = campaigns
        .iter()
        .zip(&ids)
        // Numbers from this process's runs; those kept from before a restart are not sampled.
        .filter_map(|(c, id)| {
            c.view
                .status
                .as_ref()
                .and_then(super::manager::KnownStatus::engine)
                .map(|status| (status, id))
        })
        .collect();

    out.family("dialer_calls", "gauge", "Live calls by state.");
    for (status, id) in &with_status {
        for (state, count) in status.calls.named() {
            out.sample(
                "dialer_calls",
                &[("campaign", id), ("state", state)],
                f64::from(count),
            );
        }
    }

    out.family(
        "dialer_call_outcomes_total",
        "counter",
        "Attempts ended, by outcome.",
    );
    for (status, id) in &with_status {
        let outcomes = serde_json::to_value(&status.outcomes).unwrap_or_default();
        if let Some(map) = outcomes.as_object() {
            for (outcome, count) in map {
                out.sample(
                    "dialer_call_outcomes_total",
                    &[("campaign", id), ("outcome", outcome)],
                    count.as_f64().unwrap_or(0.0),
                );
            }
        }
    }

    let counters: [Series; 4] = [
        ("dialer_attempts_total", "Calls placed.", |s| {
            s.attempts as f64
        }),
        (
            "dialer_answered_total",
            "Calls a person answered (machines excluded).",
            |s| s.answered as f64,
        ),
        (
            "dialer_connected_total",
            "Answered calls that reached an agent.",
            |s| s.connected as f64,
        ),
        (
            "dialer_abandoned_total",
            "Answered calls that never reached an agent.",
            |s| s.abandoned as f64,
        ),
    ];
    for (name, help, value) in counters {
        out.family(name, "counter", help);
        for (status, id) in &with_status {
            out.sample(name, &[("campaign", id)], value(status));
        }
    }

    let gauges: [Series; 6] = [
        (
            "dialer_abandon_rate",
            "Abandoned over answered calls, as a fraction.",
            |s| s.abandon_rate,
        ),
        (
            "dialer_dial_level",
            "Dials in flight per logged-in agent.",
            |s| s.dial_level,
        ),
        (
            "dialer_occupancy",
            "Agents on calls per logged-in agent.",
            |s| s.occupancy,
        ),
        ("dialer_dials_in_flight", "Calls dialing or ringing.", |s| {
            f64::from(s.dials_in_flight)
        }),
        (
            "dialer_queue_length",
            "Answered calls waiting in the call queue for an agent.",
            |s| f64::from(s.queued),
        ),
        (
            "dialer_queue_guard_pauses_total",
            "Times the queue guard paused dialing (a counter).",
            |s| s.pauses as f64,
        ),
    ];
    for (name, help, value) in gauges {
        let kind = if name.ends_with("_total") {
            "counter"
        } else {
            "gauge"
        };
        out.family(name, kind, help);
        for (status, id) in &with_status {
            out.sample(name, &[("campaign", id)], value(status));
        }
    }

    out.family(
        "dialer_abandon_cap",
        "gauge",
        "The abandon rate the campaign is held to, as a fraction.",
    );
    for (input, id) in campaigns.iter().zip(&ids) {
        out.sample(
            "dialer_abandon_cap",
            &[("campaign", id)],
            input.view.abandon_cap,
        );
    }

    out.family(
        "dialer_agents",
        "gauge",
        "Agents as the dialer infers them, by state.",
    );
    for (status, id) in &with_status {
        let agents = status.agents;
        for (state, count) in [
            ("logged_in", agents.logged_in),
            ("on_call", agents.on_calls),
            ("wrap_up", agents.wrap_up),
            ("idle", agents.idle),
        ] {
            out.sample(
                "dialer_agents",
                &[("campaign", id), ("state", state)],
                f64::from(count),
            );
        }
    }

    out.family(
        "dialer_dialing_paused",
        "gauge",
        "1 while dialing is paused, by who paused it (an admin, the queue guard, or PortaSwitch refusing the login).",
    );
    for (status, id) in &with_status {
        let s = status;
        for (reason, paused) in [
            ("admin", s.admin_paused),
            ("queue_guard", s.queue_guard.paused),
            ("login_refused", s.switch_login_refused),
        ] {
            out.sample(
                "dialer_dialing_paused",
                &[("campaign", id), ("reason", reason)],
                if paused { 1.0 } else { 0.0 },
            );
        }
    }

    out.family(
        "dialer_webhook_requests_total",
        "counter",
        "Call-state callbacks received from PortaSwitch, by result.",
    );
    for (input, id) in campaigns.iter().zip(&ids) {
        let Some(webhook) = input.view.webhook else {
            continue;
        };
        for (result, count) in [
            ("accepted", webhook.accepted),
            ("unauthorized", webhook.unauthorized),
            ("malformed", webhook.malformed),
            ("ignored_state", webhook.ignored_states),
            ("rate_limited", webhook.rate_limited),
            ("too_large", webhook.too_large),
        ] {
            out.sample(
                "dialer_webhook_requests_total",
                &[("campaign", id), ("result", result)],
                count as f64,
            );
        }
    }

    out.family(
        "dialer_portaswitch_requests_total",
        "counter",
        "PortaSwitch API requests, with faults and transport errors among them.",
    );
    for (input, id) in campaigns.iter().zip(&ids) {
        let Some(switch) = &input.view.switch else {
            continue;
        };
        for (result, count) in [
            ("all", switch.requests),
            ("fault", switch.faults),
            ("transport_error", switch.transport_errors),
        ] {
            out.sample(
                "dialer_portaswitch_requests_total",
                &[("campaign", id), ("result", result)],
                count as f64,
            );
        }
    }

    out.family(
        "dialer_portaswitch_originates_total",
        "counter",
        "originate_advanced_call requests, by result.",
    );
    for (input, id) in campaigns.iter().zip(&ids) {
        let Some(switch) = &input.view.switch else {
            continue;
        };
        for (result, count) in [
            ("accepted", switch.originates),
            ("rejected", switch.originates_rejected),
        ] {
            out.sample(
                "dialer_portaswitch_originates_total",
                &[("campaign", id), ("result", result)],
                count as f64,
            );
        }
    }

    let latency = "dialer_portaswitch_api_latency_seconds";
    out.family(
        latency,
        "histogram",
        "Time from sending a PortaSwitch API request until its whole answer arrived.",
    );
    for (input, id) in campaigns.iter().zip(&ids) {
        for (site, histogram) in &input.latencies {
            for (bound_us, count) in &histogram.cumulative {
                let le = format!("{}", *bound_us as f64 / 1e6);
                out.sample(
                    &format!("{latency}_bucket"),
                    &[("campaign", id), ("site", site), ("le", &le)],
                    *count as f64,
                );
            }
            out.sample(
                &format!("{latency}_bucket"),
                &[("campaign", id), ("site", site), ("le", "+Inf")],
                histogram.count as f64,
            );
            out.sample(
                &format!("{latency}_sum"),
                &[("campaign", id), ("site", site)],
                histogram.sum_us as f64 / 1e6,
            );
            out.sample(
                &format!("{latency}_count"),
                &[("campaign", id), ("site", site)],
                histogram.count as f64,
            );
        }
    }

    out.family(
        "dialer_console_subscribers",
        "gauge",
        "Console pages following the campaign's calls live.",
    );
    for (input, id) in campaigns.iter().zip(&ids) {
        out.sample(
            "dialer_console_subscribers",
            &[("campaign", id)],
            input.subscribers as f64,
        );
    }
    out.text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::feed::{AgentsView, GuardView};
    use crate::portaswitch::latency::LatencyHistogram;
    use std::time::Duration;

    fn status() -> CampaignStatus {
        CampaignStatus {
            now_us: 5_000_000,
            seq: 9,
            finished: false,
            dialing_closed: false,
            admin_paused: false,
            switch_login_refused: false,
            queue_guard: GuardView {
                paused: true,
                since_us: Some(4_000_000),
                queued_at_pause: Some(6),
            },
            calls: crate::campaign::feed::CallsByState {
                ringing: 2,
                queued: 6,
                talking: 4,
                ..Default::default()
            },
            agents: AgentsView {
                logged_in: 4,
                on_calls: 4,
                wrap_up: 0,
                idle: 0,
            },
            dials_in_flight: 2,
            queued: 6,
            attempts: 40,
            answered: 20,
            connected: 19,
            abandoned: 1,
            abandon_rate: 0.05,
            dial_level: 0.5,
            occupancy: 1.0,
            outcomes: crate::report::OutcomeCounts::from_array(&[3, 1, 0, 0, 0, 0, 0, 1, 0, 0]),
            anomalies: 0,
            pauses: 1,
            paused_seconds: 1.0,
            max_queued: 6,
            leads: Default::default(),
            dialable_leads: 10,
            dials_unfilled: 0,
            reconcile: Default::default(),
        }
    }

    fn view(name: &str) -> CampaignView {
        CampaignView {
            id: 7,
            name: name.to_string(),
            description: String::new(),
            kind: super::super::manager::Kind::Live,
            phase: Phase::Running,
            outcome: None,
            error: None,
            created_unix_ms: 0,
            started_unix_ms: None,
            ended_unix_ms: None,
            abandon_cap: 0.03,
            pacing: None,
            leads_listed: None,
            speed: None,
            status: Some(super::super::manager::KnownStatus::Engine(Box::new(
                status(),
            ))),
            webhook: Some(crate::portaswitch::webhook::WebhookCounts {
                received: 12,
                accepted: 10,
                unauthorized: 2,
                malformed: 0,
                ignored_states: 0,
                rate_limited: 3,
                too_large: 1,
            }),
            switch: Some(Default::default()),
            report: None,
            kept: false,
            durable: false,
            state_error: None,
        }
    }

    #[test]
    fn a_scrape_has_every_family_once_with_labels() {
        let histogram = LatencyHistogram::default();
        histogram.record(Duration::from_millis(4));
        histogram.record(Duration::from_millis(30));
        let text = render(&[MetricsInput {
            view: view("spring \"promo\"\\1"),
            latencies: vec![("main".into(), histogram.snapshot())],
            subscribers: 1,
        }]);
        for line in [
            "dialer_campaigns{phase=\"running\"} 1",
            "dialer_campaign_info{campaign=\"7\",name=\"spring \\\"promo\\\"\\\\1\",kind=\"live\",phase=\"running\"} 1",
            "dialer_calls{campaign=\"7\",state=\"queued\"} 6",
            "dialer_call_outcomes_total{campaign=\"7\",outcome=\"completed\"} 3",
            "dialer_abandon_rate{campaign=\"7\"} 0.05",
            "dialer_abandon_cap{campaign=\"7\"} 0.03",
            "dialer_dial_level{campaign=\"7\"} 0.5",
            "dialer_agents{campaign=\"7\",state=\"logged_in\"} 4",
            "dialer_queue_length{campaign=\"7\"} 6",
            "dialer_dialing_paused{campaign=\"7\",reason=\"queue_guard\"} 1",
            "dialer_webhook_requests_total{campaign=\"7\",result=\"unauthorized\"} 2",
            "dialer_webhook_requests_total{campaign=\"7\",result=\"rate_limited\"} 3",
            "dialer_webhook_requests_total{campaign=\"7\",result=\"too_large\"} 1",
            "dialer_portaswitch_api_latency_seconds_bucket{campaign=\"7\",site=\"main\",le=\"0.005\"} 1",
            "dialer_portaswitch_api_latency_seconds_bucket{campaign=\"7\",site=\"main\",le=\"0.05\"} 2",
            "dialer_portaswitch_api_latency_seconds_bucket{campaign=\"7\",site=\"main\",le=\"+Inf\"} 2",
            "dialer_portaswitch_api_latency_seconds_sum{campaign=\"7\",site=\"main\"} 0.034",
            "dialer_portaswitch_api_latency_seconds_count{campaign=\"7\",site=\"main\"} 2",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line}\n{text}");
        }
        let mut types = std::collections::BTreeSet::new();
        for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
            assert!(types.insert(line.to_string()), "{line} twice");
        }
        // Every sample line is `name{labels} value` with a number.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let value = line.rsplit(' ').next().expect("a value");
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
    }
}
