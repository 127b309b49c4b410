//! Plain-words explanations of traced pacing decisions ("why did it dial 7 at 10:42:05?").
//!
//! Reads a trace written by `dialer simulate --trace FILE` (JSON lines), finds the pacing
//! decisions at the moment asked (or, if none, the last one before it), and writes what the
//! strategy saw and why it chose what it did: idle agents, agents about to free, dials in flight,
//! the estimates, the abandon budget, the guard and the limits, and the count chosen. Without a
//! moment it summarises the trace's pacing.
//!
//! Reads files and formats text; decides nothing.

use serde_json::Value;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::Path;

/// Why an explanation could not be given.
#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    #[error("cannot read the trace {file}: {source}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{line}: not a trace record: {message}")]
    Record {
        file: String,
        line: usize,
        message: String,
    },
    #[error("--at {0}: not a time; write HH:MM:SS or HH:MM:SS.mmm")]
    Time(String),
}

impl ExplainError {
    /// True when the input (file content or time) is at fault.
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, ExplainError::Read { .. })
    }
}

/// Reads `HH:MM:SS` or `HH:MM:SS.mmm` into (start, length) in microseconds: a whole second, or
/// one millisecond when milliseconds are given.
pub fn parse_moment(text: &str) -> Result<(u64, u64), ExplainError> {
    let bad = || ExplainError::Time(text.to_string());
    let (clock, millis) = match text.split_once('.') {
        Some((clock, millis)) => (clock, Some(millis)),
        None => (text, None),
    };
    let parts: Vec<&str> = clock.split(':').collect();
    if parts.len() != 3 {
        return Err(bad());
    }
    let mut seconds = 0u64;
    for (index, part) in parts.iter().enumerate() {
        let value: u64 = part.parse().map_err(|_| bad())?;
        if index > 0 && value >= 60 {
            return Err(bad());
        }
        seconds = seconds * 60 + value;
    }
    let start = seconds * 1_000_000;
    match millis {
        None => Ok((start, 1_000_000)),
        Some(millis) => {
            if millis.is_empty() || millis.len() > 3 || !millis.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(bad());
            }
            let padded = format!("{millis:0<3}");
            let ms: u64 = padded.parse().map_err(|_| bad())?;
            Ok((start + ms * 1_000, 1_000))
        }
    }
}

/// What the reader remembers while passing through the trace.
#[derive(Default)]
struct Context {
    strategy: Option<Value>,
    last_update: Option<Value>,
    guard: Option<Value>,
    last_decision: Option<Value>,
}

/// Explains the decisions of a trace file at `at` (or summarises the trace).
pub fn explain_file(path: &Path, at: Option<&str>) -> Result<String, ExplainError> {
    let file_name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| ExplainError::Read {
        file: file_name.clone(),
        source,
    })?;
    let moment = at.map(parse_moment).transpose()?;
    let reader = BufReader::new(file);
    let mut context = Context::default();
    let mut found: Vec<(Value, Option<Value>, Option<Value>)> = Vec::new();
    let mut summary = Summary::default();
    for (index, line) in reader.lines().enumerate() {
        let line = line.map_err(|source| ExplainError::Read {
            file: file_name.clone(),
            source,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let record: Value = serde_json::from_str(&line).map_err(|error| ExplainError::Record {
            file: file_name.clone(),
            line: index + 1,
            message: error.to_string(),
        })?;
        let t = record["t_us"].as_u64().unwrap_or(0);
        if let Some((start, length)) = moment
            && t >= start + length
        {
            break;
        }
        summary.last_at = record["at"].as_str().map(str::to_string);
        summary.records += 1;
        let kind = record["kind"].as_str().unwrap_or("");
        match kind {
            "pacing_strategy" => context.strategy = Some(record["strategy"].clone()),
            "strategy_update" => context.last_update = Some(record.clone()),
            "abandon_guard" => {
                summary.guard_changes += 1;
                context.guard = Some(record.clone());
            }
            "pacing" => {
                summary.decisions += 1;
                summary.dials += record["decision"]["dial"].as_u64().unwrap_or(0);
                if record["decision"]["limited_by"] == "abandon_guard" {
                    summary.guard_limited += 1;
                }
                if let Some((start, _)) = moment
                    && t >= start
                {
                    found.push((
                        record.clone(),
                        context.strategy.clone(),
                        context.last_update.clone(),
                    ));
                }
                context.last_decision = Some(record);
            }
            _ => {}
        }
    }
    let mut out = String::new();
    match (moment, at) {
        (Some(_), Some(at)) => {
            if found.is_empty() {
                let _ = writeln!(out, "No pacing decision placed a dial at {at}.");
                match &context.last_decision {
                    Some(last) => {
                        let _ = writeln!(
                            out,
                            "The last decision before it, at {}:\n",
                            last["at"].as_str().unwrap_or("?")
                        );
                        explain_decision(
                            &mut out,
                            last,
                            context.strategy.as_ref(),
                            context.last_update.as_ref(),
                        );
                    }
                    None => {
                        let _ = writeln!(out, "No decision placed a dial before it either.");
                    }
                }
            } else {
                for (index, (record, strategy, update)) in found.iter().enumerate() {
                    if index > 0 {
                        let _ = writeln!(out);
                    }
                    explain_decision(&mut out, record, strategy.as_ref(), update.as_ref());
                }
            }
            if let Some(guard) = &context.guard {
                let _ = writeln!(
                    out,
                    "\nThe abandon guard was last {} at {}.",
                    if guard["engaged"] == true {
                        "engaged"
                    } else {
                        "released"
                    },
                    guard["at"].as_str().unwrap_or("?")
                );
            }
        }
        _ => summarise(&mut out, &summary, context.strategy.as_ref()),
    }
    Ok(out)
}

#[derive(Default)]
struct Summary {
    records: u64,
    decisions: u64,
    dials: u64,
    guard_changes: u64,
    guard_limited: u64,
    last_at: Option<String>,
}

fn summarise(out: &mut String, summary: &Summary, strategy: Option<&Value>) {
    let _ = writeln!(
        out,
        "{} records up to {}; strategy {}.",
        summary.records,
        summary.last_at.as_deref().unwrap_or("00:00:00.000"),
        strategy.map_or("unknown".to_string(), describe_strategy)
    );
    let _ = writeln!(
        out,
        "{} pacing decisions placed {} dials; the abandon guard changed state {} times and cut {} decisions down to progressive.",
        summary.decisions, summary.dials, summary.guard_changes, summary.guard_limited
    );
    let _ = writeln!(
        out,
        "Ask about one moment with --at HH:MM:SS (or HH:MM:SS.mmm)."
    );
}

fn describe_strategy(strategy: &Value) -> String {
    let name = strategy["strategy"].as_str().unwrap_or("?");
    match name {
        "power" => format!("power (ratio {})", number(&strategy["ratio"], 2)),
        "preview" => format!(
            "preview ({} s preview)",
            number(&strategy["preview_seconds"], 1)
        ),
        "adaptive_ratio" => format!(
            "adaptive_ratio (VICIdial ADAPT_{}, maximum level {}, drop limit {}%)",
            strategy["variant"]
                .as_str()
                .unwrap_or("?")
                .to_ascii_uppercase(),
            number(&strategy["maximum_level"], 2),
            number(&strategy["dropped_percentage"], 2)
        ),
        "predictive" => format!(
            "predictive ({} criterion, aggressiveness {})",
            strategy["criterion"].as_str().unwrap_or("?"),
            number(&strategy["aggressiveness"], 2)
        ),
        other => other.to_string(),
    }
}

fn number(value: &Value, decimals: usize) -> String {
    match value.as_f64() {
        Some(v) => format!("{v:.decimals$}"),
        None => "?".to_string(),
    }
}

fn percent(value: &Value) -> String {
    match value.as_f64() {
        Some(v) => format!("{:.2}%", v * 100.0),
        None => "?".to_string(),
    }
}

fn count(value: &Value) -> u64 {
    value.as_u64().unwrap_or(0)
}

fn explain_decision(
    out: &mut String,
    record: &Value,
    strategy: Option<&Value>,
    update: Option<&Value>,
) {
    let snapshot = &record["snapshot"];
    let decision = &record["decision"];
    let why = &record["why"];
    let name = record["strategy"].as_str().unwrap_or("?");
    let dial = count(&decision["dial"]);
    let reserve = count(&decision["reserve"]);
    let at = record["at"].as_str().unwrap_or("?");
    let idle = count(&record["idle_agents"]);
    let in_flight = count(&snapshot["dials_in_flight"]);
    let _ = write!(out, "At {at} pacing ({name}) dialed {dial}");
    if reserve > 0 {
        let _ = write!(out, " and reserved {reserve} agents for a preview");
    }
    let _ = writeln!(out, ".");
    let leads = match snapshot["dialable_leads"].as_u64() {
        Some(n) if n < u64::MAX / 2 => n.to_string(),
        _ => "unlimited".to_string(),
    };
    let _ = writeln!(
        out,
        "  Agents: {} logged in, {idle} idle, {} on calls, {} in wrap-up. Dials in flight before it: {in_flight}. Calls waiting in the queue: {}. Dialable leads: {leads}.",
        count(&snapshot["agents_logged_in"]),
        count(&snapshot["agents_on_calls"]),
        count(&snapshot["agents_in_wrap_up"]),
        count(&snapshot["calls_queued"]),
    );
    let target = count(&decision["target"]);
    let wanted = why["wanted"].as_u64().unwrap_or(dial);
    match name {
        "progressive" => {
            let _ = writeln!(
                out,
                "  Progressive keeps one dial in flight per idle agent: {idle} idle − {in_flight} in flight = {}.",
                idle.saturating_sub(in_flight)
            );
        }
        "power" => {
            let ratio = strategy.map_or("?".to_string(), |s| number(&s["ratio"], 2));
            let _ = writeln!(
                out,
                "  Power keeps ceil(ratio × idle agents) = ceil({ratio} × {idle}) = {target} dials in flight; {in_flight} were in flight, so {}.",
                target.saturating_sub(in_flight)
            );
        }
        "preview" => {
            let note = &why["note"];
            let _ = writeln!(
                out,
                "  Preview reserves an idle agent for each lead, lets them look at it for {} s, then dials. The {dial} dials are for previews that ended; {} agents are now previewing.",
                number(&note["preview_seconds"], 1),
                count(&note["previewing"])
            );
        }
        "adaptive_ratio" => explain_adaptive(out, &why["note"], update, in_flight),
        "predictive" => explain_predictive(out, &why["note"], dial),
        _ => {}
    }
    explain_abandon(out, why, dial, wanted, decision);
}

fn explain_adaptive(out: &mut String, note: &Value, update: Option<&Value>, in_flight: u64) {
    let _ = writeln!(
        out,
        "  VICIdial ADAPT_{}: dial level {}. Agents counted (ready + in call) {} × level = goal {}; active calls (dialing, ringing, waiting, with agents) {} (of which {in_flight} dialing or ringing); goal − active = {}.",
        note["variant"].as_str().unwrap_or("?").to_ascii_uppercase(),
        number(&note["level"], 3),
        count(&note["agents_counted"]),
        count(&note["goal"]),
        count(&note["active_calls"]),
        count(&note["goal"]).saturating_sub(count(&note["active_calls"]))
    );
    if let Some(update) = update {
        let note = &update["note"];
        let _ = write!(
            out,
            "  The level was last recalculated at {}: differential (ready − waiting + target) {} over {} agents on average",
            update["at"].as_str().unwrap_or("?"),
            number(&note["differential"], 2),
            number(&note["mean_agents"], 2)
        );
        match note["override_rule"].as_str() {
            Some(rule) => {
                let _ = writeln!(out, ", then cut by the drop rule \"{rule}\".");
            }
            None => {
                let _ = writeln!(out, ".");
            }
        }
    }
}

fn explain_predictive(out: &mut String, note: &Value, dial: u64) {
    if note["guard_engaged"] == true {
        let _ = writeln!(
            out,
            "  The abandon guard was engaged (one more abandon, counting the callers waiting, would put the rate above the cap), so the model was not consulted and it dialed like progressive: one dial in flight per idle agent."
        );
        return;
    }
    if note["warming_up"] == true {
        let _ = writeln!(
            out,
            "  The estimates are not ready yet ({} dial outcomes, {} live answers and {} finished talks seen), so it dialed conservatively, like progressive.",
            count(&note["dial_outcomes"]),
            count(&note["live_answers"]),
            count(&note["talks"])
        );
        return;
    }
    let _ = writeln!(
        out,
        "  Learned from this campaign: {} of dials are answered by a person, {} s from dial to answer on average; talks last {} s on average.",
        percent(&note["p_live"]),
        number(&note["mean_answer_seconds"], 1),
        number(&note["mean_talk_seconds"], 0)
    );
    let _ = writeln!(
        out,
        "  Looking {} s ahead: {} agents idle, {} more expected to free in time (of {} busy, from their elapsed talk times); {} live answers expected from the {} dials in flight; {} callers already waiting. An answer must reach an agent within {} s.",
        number(&note["horizon_seconds"], 0),
        count(&note["idle_agents"]),
        number(&note["about_to_free"], 1),
        count(&note["busy_agents"]),
        number(&note["expected_answers"], 1),
        count(&note["dials_in_flight"]),
        count(&note["calls_waiting"]),
        number(&note["threshold_seconds"], 1)
    );
    let risk = if note["criterion"] == "average" {
        "the share of answered calls expected to wait past the threshold"
    } else {
        "the last dial's risk (the abandons it adds, its own and those it causes to callers answered after it, per live answer it brings)"
    };
    let _ = writeln!(
        out,
        "  With {} new dials {risk} is {}; one more dial would make it {}, against {} allowed by the abandon budget now, so it chose {}{}.",
        count(&note["chosen"]),
        percent(&note["risk"]),
        percent(&note["risk_next"]),
        percent(&note["allowed"]),
        count(&note["chosen"]),
        if count(&note["chosen"]) == dial {
            String::new()
        } else {
            format!(" (and {dial} were placed after the guard and limits)")
        }
    );
}

fn explain_abandon(out: &mut String, why: &Value, dial: u64, wanted: u64, decision: &Value) {
    let abandon = &why["abandon"];
    if abandon.is_object() {
        let _ = writeln!(
            out,
            "  Abandon budget ({}): {} of {} answers abandoned ({}), cap {}, {} abandons left before the cap; the budget allows {} now.",
            abandon["window"].as_str().unwrap_or("?").replace('_', " "),
            count(&abandon["abandons"]),
            count(&abandon["answers"]),
            percent(&abandon["rate"]),
            percent(&abandon["cap"]),
            number(&abandon["budget_left"], 1),
            percent(&abandon["allowed_rate"])
        );
    }
    match decision["limited_by"].as_str() {
        Some("abandon_guard") if why["guard_engaged"] == true => {
            let _ = writeln!(
                out,
                "  The abandon guard was engaged: one more abandon (counting the calls waiting) would have put the rate above the cap, so pacing fell back to progressive: {dial} dials instead of the {wanted} the strategy wanted."
            );
        }
        Some("abandon_guard") => {
            let _ = writeln!(
                out,
                "  The abandon guard held it to {dial} dials (the strategy wanted {wanted}): had every answer expected beyond the idle agents been abandoned, more dials would have put the rate above the cap."
            );
        }
        Some("lines_per_agent") => {
            let _ = writeln!(
                out,
                "  The maximum of lines per agent held it to {dial} (the strategy wanted {wanted})."
            );
        }
        Some("calls_per_second") => {
            let _ = writeln!(
                out,
                "  The calls-per-second cap held it to {dial} (the strategy wanted {wanted}); the rest go when the cap allows."
            );
        }
        Some("no_leads") => {
            let _ = writeln!(out, "  Only {dial} leads could be dialed.");
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_are_read_to_the_second_or_millisecond() {
        assert_eq!(
            parse_moment("10:42:05").unwrap(),
            (38_525_000_000, 1_000_000)
        );
        assert_eq!(
            parse_moment("10:42:05.120").unwrap(),
            (38_525_120_000, 1_000)
        );
        assert_eq!(parse_moment("00:00:01.5").unwrap(), (1_500_000, 1_000));
        for bad in ["10:42", "10:61:00", "x", "10:42:05.1234", "10:42:05."] {
            assert!(parse_moment(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_power_decision_is_explained_with_its_ratio() {
        let record: Value = serde_json::from_str(
            r#"{"seq":2,"t_us":0,"at":"00:00:00.000","kind":"pacing","strategy":"power",
            "snapshot":{"now":0,"agents_logged_in":10,"agents_on_calls":7,"agents_in_wrap_up":0,
            "dials_in_flight":2,"calls_queued":0,"dialable_leads":100,"dialing_open":true},
            "idle_agents":3,"decision":{"dial":4,"target":6,"limited_by":null}}"#,
        )
        .unwrap();
        let strategy: Value = serde_json::from_str(r#"{"strategy":"power","ratio":2.0}"#).unwrap();
        let mut out = String::new();
        explain_decision(&mut out, &record, Some(&strategy), None);
        assert!(out.contains("dialed 4"), "{out}");
        assert!(out.contains("ceil(2.00 × 3) = 6"), "{out}");
        assert!(out.contains("3 idle"), "{out}");
    }
}
