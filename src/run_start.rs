//! Where a live run starts from, written into its trace so that `dialer replay` can start from
//! the same place.
//!
//! A live run's engine time zero is a real instant (the wall clock when `dialer run` started),
//! and calling hours and local days are reckoned from it. A stored campaign's run also starts
//! from the store's state: each lead's status, attempts and due redial, the answered calls of
//! earlier runs still in the abandon windows, the attempts the switch still carried, and the
//! number of its first attempt. [`RunStart`] holds all of that; `dialer run` writes it as trace
//! records at engine time zero, before any other (`run_start`, then one `run_lead` per lead,
//! `run_prior_answer` per earlier answer and `run_recovered` per attempt still on the switch),
//! and [`RunStartReader`] reads them back for [`crate::replay`], which then builds the same
//! campaign ([`RunStart::apply`]).
//!
//! Owns those four records: what they hold, their writing and their reading.
//! Must not: read the store, the clock or the network; the live runner hands it what it
//! loaded. A stored campaign's leads are all written, one record each, so the trace of a
//! campaign with many leads starts with as many lines.

use crate::campaign::hopper::{LeadList, LeadSource, ListedLead, PriorStatus};
use crate::campaign::supervisor::{CampaignSetup, JournalSetup};
use crate::compliance::Compliance;
use crate::domain::{AttemptId, LeadId, Outcome, PhoneNumber};
use crate::journal::recovery::RecoveredAttempt;
use crate::pacing::abandon::PriorAnswer;
use crate::time::{SimDuration, SimTime};
use crate::trace::{TraceRecord, TraceSink};
use jiff::Timestamp;
use serde_json::Value;

/// Where a live run started.
#[derive(Clone, Debug, PartialEq)]
pub struct RunStart {
    /// The real instant of engine time zero.
    pub epoch: Timestamp,
    pub first_attempt: AttemptId,
    /// A stored campaign's state at the start; `None`: the campaign file's leads, no earlier
    /// run.
    pub stored: Option<StoredStart>,
}

/// A stored campaign's state when a run of it started.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StoredStart {
    /// Every lead, by its id in this run (its index).
    pub leads: Vec<StartLead>,
    pub prior_answers: Vec<PriorAnswer>,
    pub recovered: Vec<RecoveredAttempt>,
}

/// A stored lead where it stood.
#[derive(Clone, Debug, PartialEq)]
pub struct StartLead {
    /// Its zone is in `zone`, not in `lead.zone` (an id only the run's own rules give meaning).
    pub lead: ListedLead,
    /// The name of its zone (an IANA zone or `region:XX`); `None`: the campaign's default.
    pub zone: Option<String>,
    /// On the do-not-call list when the run started.
    pub do_not_call: bool,
}

/// Why a trace's start records cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RunStartError {
    #[error("lead {lead} is in zone {zone:?}, which this build does not know")]
    UnknownZone { lead: u64, zone: String },
}

impl RunStart {
    /// The start of a live run whose campaign `setup` is ready (for a stored campaign: its
    /// leads, rules, earlier answers and recovered attempts loaded from the store).
    pub fn of_run(
        epoch: Timestamp,
        first_attempt: AttemptId,
        setup: &CampaignSetup,
        stored: bool,
    ) -> RunStart {
        let stored = stored.then(|| {
            let compliance = setup.compliance.as_ref();
            let leads = match &setup.leads {
                LeadSource::List(list) => list
                    .0
                    .iter()
                    .map(|lead| StartLead {
                        zone: lead
                            .zone
                            .and_then(|zone| compliance?.zone_name(zone))
                            .map(str::to_string),
                        do_not_call: compliance
                            .is_some_and(|compliance| compliance.dnc.contains(&lead.number)),
                        lead: ListedLead {
                            zone: None,
                            ..lead.clone()
                        },
                    })
                    .collect(),
                // A stored campaign's leads are always a list.
                LeadSource::Generated { .. } => Vec::new(),
            };
            StoredStart {
                leads,
                prior_answers: setup.prior_answers.clone(),
                recovered: setup.recovered.clone(),
            }
        });
        RunStart {
            epoch,
            first_attempt,
            stored,
        }
    }

    /// Writes the start records at engine time zero.
    pub fn record(&self, trace: &mut TraceSink) {
        let epoch = self.epoch.to_string();
        let empty = StoredStart::default();
        let stored = self.stored.as_ref().unwrap_or(&empty);
        trace.record(
            SimTime::ZERO,
            &TraceRecord::RunStart {
                epoch: &epoch,
                first_attempt: self.first_attempt,
                stored: self.stored.is_some(),
                leads: stored.leads.len() as u64,
                prior_answers: stored.prior_answers.len() as u64,
                recovered: stored.recovered.len() as u64,
            },
        );
        for (index, start) in stored.leads.iter().enumerate() {
            let lead = &start.lead;
            let (status, due_us) = status_text(lead.status);
            trace.record(
                SimTime::ZERO,
                &TraceRecord::RunLead {
                    lead: LeadId(index as u64),
                    number: &lead.number,
                    zone: start.zone.as_deref(),
                    priority: lead.priority,
                    added: lead.added,
                    status,
                    due_us,
                    attempts: lead.attempts,
                    attempts_today: lead.attempts_today,
                    day: lead.day,
                    last_outcome: lead.last_outcome,
                    do_not_call: start.do_not_call,
                },
            );
        }
        for answer in &stored.prior_answers {
            trace.record(
                SimTime::ZERO,
                &TraceRecord::RunPriorAnswer {
                    age_us: answer.age.as_micros(),
                    reached_queue: answer.reached_queue,
                    wait_for_agent_us: answer.wait_for_agent.map(SimDuration::as_micros),
                    abandoned_in_queue: answer.abandoned_in_queue,
                },
            );
        }
        for attempt in &stored.recovered {
            trace.record(
                SimTime::ZERO,
                &TraceRecord::RunRecovered {
                    attempt: attempt.attempt,
                    lead: attempt.lead,
                    callee: &attempt.callee,
                    switch_call: attempt.switch_call.as_deref(),
                },
            );
        }
    }

    /// Makes `setup` (the campaign file's) start where the recorded run started: its rules
    /// reckon from the recorded epoch, and a stored campaign's leads, do-not-call numbers,
    /// earlier answers and recovered attempts are the recorded ones. Returns the journal to
    /// run with, numbering attempts from the recorded first one.
    pub fn apply(&self, setup: &mut CampaignSetup) -> Result<JournalSetup, RunStartError> {
        let compliance = setup.compliance.get_or_insert_with(|| {
            Compliance::new(self.epoch, None, ("UTC", jiff::tz::TimeZone::UTC))
        });
        compliance.rebase(self.epoch);
        if let Some(stored) = &self.stored {
            let mut leads = Vec::with_capacity(stored.leads.len());
            for (index, start) in stored.leads.iter().enumerate() {
                let zone = match &start.zone {
                    None => None,
                    Some(name) => Some(compliance.intern_named_zone(name).ok_or_else(|| {
                        RunStartError::UnknownZone {
                            lead: index as u64,
                            zone: name.clone(),
                        }
                    })?),
                };
                if start.do_not_call {
                    compliance.dnc.add(start.lead.number.clone());
                }
                leads.push(ListedLead {
                    zone,
                    ..start.lead.clone()
                });
            }
            setup.leads = LeadSource::List(LeadList(leads));
            setup.prior_answers = stored.prior_answers.clone();
            setup.recovered = stored.recovered.clone();
        }
        Ok(JournalSetup {
            first_attempt: self.first_attempt,
            ..JournalSetup::in_memory()
        })
    }
}

/// A lead status as the `run_lead` record writes it, with a waiting lead's due time (µs).
fn status_text(status: PriorStatus) -> (&'static str, Option<u64>) {
    match status {
        PriorStatus::Fresh => ("fresh", None),
        PriorStatus::Waiting(due) => ("waiting", Some(due.as_micros())),
        PriorStatus::Dialing => ("dialing", None),
        PriorStatus::Done => ("done", None),
        PriorStatus::DoNotCall => ("do_not_call", None),
    }
}

fn status_of(text: &str, due_us: Option<u64>) -> Option<PriorStatus> {
    Some(match text {
        "fresh" => PriorStatus::Fresh,
        "waiting" => PriorStatus::Waiting(SimTime(due_us?)),
        "dialing" => PriorStatus::Dialing,
        "done" => PriorStatus::Done,
        "do_not_call" => PriorStatus::DoNotCall,
        _ => return None,
    })
}

/// Reads a trace's start records, line by line.
#[derive(Debug, Default)]
pub struct RunStartReader {
    /// The `run_start` record's line and what it announced (leads, prior answers, recovered).
    announced: Option<(usize, [u64; 3])>,
    start: Option<RunStart>,
}

impl RunStartReader {
    /// Reads `record` (of `kind`, on `line`) if it is a start record: `Ok(true)`; `Ok(false)`
    /// for any other kind; `Err` with what is wrong with a start record.
    pub fn read(&mut self, line: usize, kind: &str, record: &Value) -> Result<bool, String> {
        match kind {
            "run_start" => {
                if self.start.is_some() {
                    return Err(
                        "a second run_start record: the trace holds more than one run".into(),
                    );
                }
                let epoch = record["epoch"]
                    .as_str()
                    .ok_or("run_start without epoch")?
                    .parse::<Timestamp>()
                    .map_err(|e| format!("run_start's epoch: {e}"))?;
                let count = |key: &str| {
                    record[key]
                        .as_u64()
                        .ok_or_else(|| format!("run_start without {key}"))
                };
                let first_attempt = AttemptId(count("first_attempt")?);
                let stored = record["stored"]
                    .as_bool()
                    .ok_or("run_start without stored")?;
                let announced = [
                    count("leads")?,
                    count("prior_answers")?,
                    count("recovered")?,
                ];
                self.announced = Some((line, announced));
                self.start = Some(RunStart {
                    epoch,
                    first_attempt,
                    stored: stored.then(StoredStart::default),
                });
            }
            "run_lead" => {
                let stored = self.stored(kind)?;
                let index = record["lead"].as_u64().ok_or("run_lead without lead")?;
                if index != stored.leads.len() as u64 {
                    return Err(format!(
                        "run_lead {index} out of order: lead {} was expected",
                        stored.leads.len()
                    ));
                }
                stored.leads.push(lead_of(record)?);
            }
            "run_prior_answer" => {
                let stored = self.stored(kind)?;
                let micros = |key: &str| record[key].as_u64().map(SimDuration);
                stored.prior_answers.push(PriorAnswer {
                    age: micros("age_us").ok_or("run_prior_answer without age_us")?,
                    reached_queue: record["reached_queue"].as_bool().unwrap_or(false),
                    wait_for_agent: micros("wait_for_agent_us"),
                    abandoned_in_queue: record["abandoned_in_queue"].as_bool().unwrap_or(false),
                });
            }
            "run_recovered" => {
                let stored = self.stored(kind)?;
                stored.recovered.push(RecoveredAttempt {
                    attempt: AttemptId(
                        record["attempt"]
                            .as_u64()
                            .ok_or("run_recovered without attempt")?,
                    ),
                    lead: record["lead"].as_u64().map(LeadId),
                    callee: PhoneNumber(
                        record["callee"]
                            .as_str()
                            .ok_or("run_recovered without callee")?
                            .into(),
                    ),
                    switch_call: record["switch_call"].as_str().map(Into::into),
                });
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn stored(&mut self, kind: &str) -> Result<&mut StoredStart, String> {
        match &mut self.start {
            Some(RunStart {
                stored: Some(stored),
                ..
            }) => Ok(stored),
            Some(_) => Err(format!("{kind} in the trace of a run without a store")),
            None => Err(format!("{kind} before run_start")),
        }
    }

    /// The run's start, once every record is read: `None` for a trace without one (a
    /// simulation's, or one written before these records existed); `Err((line, message))` if
    /// the trace holds fewer or more of them than its `run_start` announced.
    pub fn finish(self) -> Result<Option<RunStart>, (usize, String)> {
        let (Some(start), Some((line, announced))) = (self.start, self.announced) else {
            return Ok(None);
        };
        let held = start.stored.as_ref().map_or([0; 3], |stored| {
            [
                stored.leads.len() as u64,
                stored.prior_answers.len() as u64,
                stored.recovered.len() as u64,
            ]
        });
        for ((name, announced), held) in ["run_lead", "run_prior_answer", "run_recovered"]
            .into_iter()
            .zip(announced)
            .zip(held)
        {
            if announced != held {
                return Err((
                    line,
                    format!(
                        "run_start announces {announced} {name} records, the trace holds {held} \
                         (a trace cut short?)"
                    ),
                ));
            }
        }
        Ok(Some(start))
    }
}

fn lead_of(record: &Value) -> Result<StartLead, String> {
    let number = record["number"].as_str().ok_or("run_lead without number")?;
    let int = |key: &str| {
        record[key]
            .as_i64()
            .ok_or_else(|| format!("run_lead without {key}"))
    };
    let status_name = record["status"].as_str().unwrap_or("");
    let status = status_of(status_name, record["due_us"].as_u64())
        .ok_or_else(|| format!("run_lead with status {status_name:?}"))?;
    let last_outcome = match &record["last_outcome"] {
        Value::Null => None,
        value => Some(
            serde_json::from_value::<Outcome>(value.clone())
                .map_err(|e| format!("run_lead's last_outcome: {e}"))?,
        ),
    };
    let small = |key: &str| -> Result<u32, String> {
        u32::try_from(int(key)?).map_err(|_| format!("run_lead's {key} is out of range"))
    };
    Ok(StartLead {
        lead: ListedLead {
            number: PhoneNumber(number.into()),
            zone: None,
            priority: i32::try_from(int("priority")?)
                .map_err(|_| "run_lead's priority is out of range".to_string())?,
            added: int("added")?,
            status,
            attempts: small("attempts")?,
            attempts_today: small("attempts_today")?,
            day: i32::try_from(int("day")?)
                .map_err(|_| "run_lead's day is out of range".to_string())?,
            last_outcome,
        },
        zone: record["zone"].as_str().map(str::to_string),
        do_not_call: record["do_not_call"].as_bool().unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;

    fn listed(number: &str, status: PriorStatus) -> ListedLead {
        ListedLead {
            status,
            attempts: 2,
            attempts_today: 1,
            day: 20_428,
            priority: -3,
            added: 1_700_000_000_000_000,
            last_outcome: Some(Outcome::NoAnswer),
            ..ListedLead::fresh(PhoneNumber(number.into()))
        }
    }

    /// The setup of `scenarios/small.toml`: a campaign file's, before a start is applied.
    fn small_setup() -> CampaignSetup {
        Scenario::from_toml(
            "small.toml",
            &std::fs::read_to_string("scenarios/small.toml").unwrap(),
            &[],
        )
        .unwrap()
        .campaign_setup(1)
    }

    fn epoch() -> Timestamp {
        "2026-12-06T14:00:00.123456Z".parse().unwrap()
    }

    /// A stored campaign's start as the live runner builds it: leads with their zones interned
    /// in the run's rules, one of them on the DNC list.
    fn stored_start() -> RunStart {
        let mut compliance = Compliance::new(
            "2026-01-01T00:00:00Z".parse().unwrap(),
            None,
            (
                "Europe/London",
                jiff::tz::TimeZone::get("Europe/London").unwrap(),
            ),
        );
        let new_york = compliance.intern_named_zone("America/New_York");
        let us = compliance.intern_named_zone("region:US");
        assert!(new_york.is_some() && us.is_some());
        compliance.dnc.add(PhoneNumber("+15550102".into()));
        let leads = vec![
            ListedLead {
                zone: new_york,
                ..listed("+15550100", PriorStatus::Fresh)
            },
            ListedLead {
                zone: us,
                ..listed("+15550101", PriorStatus::Waiting(SimTime(90_000_000)))
            },
            listed("+15550102", PriorStatus::DoNotCall),
            listed("+15550103", PriorStatus::Dialing),
            listed("+15550104", PriorStatus::Done),
        ];
        let mut setup = small_setup();
        setup.leads = LeadSource::List(LeadList(leads));
        setup.compliance = Some(compliance);
        setup.prior_answers = vec![
            PriorAnswer {
                age: SimDuration::from_secs(40),
                reached_queue: true,
                wait_for_agent: Some(SimDuration::from_secs(3)),
                abandoned_in_queue: false,
            },
            PriorAnswer {
                age: SimDuration::from_secs(70),
                reached_queue: true,
                wait_for_agent: None,
                abandoned_in_queue: true,
            },
        ];
        setup.recovered = vec![RecoveredAttempt {
            attempt: AttemptId(16),
            lead: Some(LeadId(3)),
            callee: PhoneNumber("+15550103".into()),
            switch_call: Some("c-16".into()),
        }];
        RunStart::of_run(epoch(), AttemptId(17), &setup, true)
    }

    /// The start's records as `dialer run` writes them, read back line by line.
    fn written_and_read(start: &RunStart) -> (String, Result<Option<RunStart>, (usize, String)>) {
        let buffer = crate::trace::TraceBuffer::default();
        let mut trace = TraceSink::writing_to(Box::new(buffer.clone()));
        start.record(&mut trace);
        trace.finish().unwrap();
        let text = String::from_utf8(buffer.bytes()).unwrap();
        let mut reader = RunStartReader::default();
        for (index, line) in text.lines().enumerate() {
            let record: Value = serde_json::from_str(line).unwrap();
            let kind = record["kind"].as_str().unwrap().to_string();
            assert_eq!(reader.read(index + 1, &kind, &record), Ok(true), "{line}");
        }
        (text, reader.finish())
    }

    #[test]
    fn a_stored_start_reads_back_as_it_was_written() {
        let start = stored_start();
        let stored = start.stored.as_ref().unwrap();
        assert_eq!(
            stored
                .leads
                .iter()
                .map(|lead| (lead.zone.as_deref(), lead.do_not_call))
                .collect::<Vec<_>>(),
            vec![
                (Some("America/New_York"), false),
                (Some("region:US"), false),
                (None, true),
                (None, false),
                (None, false),
            ]
        );
        let (text, read) = written_and_read(&start);
        assert_eq!(text.lines().count(), 1 + 5 + 2 + 1);
        assert_eq!(read, Ok(Some(start)));
    }

    #[test]
    fn a_run_without_a_store_writes_one_record() {
        let setup = small_setup();
        let start = RunStart::of_run(epoch(), AttemptId(1), &setup, false);
        let (text, read) = written_and_read(&start);
        assert_eq!(text.lines().count(), 1);
        assert!(
            text.contains(r#""epoch":"2026-12-06T14:00:00.123456Z""#),
            "{text}"
        );
        assert_eq!(read, Ok(Some(start)));
    }

    #[test]
    fn applied_to_the_campaign_file_s_setup_it_gives_the_run_s_leads_rules_and_numbering() {
        let start = stored_start();
        let mut setup = small_setup();
        let journal = start.apply(&mut setup).unwrap();
        assert_eq!(journal.first_attempt, AttemptId(17));
        let compliance = setup.compliance.as_ref().unwrap();
        assert_eq!(compliance.epoch(), epoch());
        assert!(compliance.dnc.contains(&PhoneNumber("+15550102".into())));
        let LeadSource::List(list) = &setup.leads else {
            panic!("a list");
        };
        let zones: Vec<Option<&str>> = list
            .0
            .iter()
            .map(|lead| lead.zone.and_then(|zone| compliance.zone_name(zone)))
            .collect();
        assert_eq!(
            zones,
            vec![
                Some("America/New_York"),
                Some("region:US"),
                None,
                None,
                None
            ]
        );
        assert_eq!(list.0[1].status, PriorStatus::Waiting(SimTime(90_000_000)));
        let stored = start.stored.as_ref().unwrap();
        assert_eq!(setup.prior_answers, stored.prior_answers);
        assert_eq!(setup.recovered, stored.recovered);
    }

    #[test]
    fn a_zone_this_build_does_not_know_is_named() {
        let mut start = stored_start();
        start.stored.as_mut().unwrap().leads[1].zone = Some("Mars/Olympus_Mons".into());
        let mut setup = small_setup();
        assert_eq!(
            start.apply(&mut setup).err(),
            Some(RunStartError::UnknownZone {
                lead: 1,
                zone: "Mars/Olympus_Mons".into()
            })
        );
    }

    #[test]
    fn start_records_out_of_place_are_named() {
        let lead = serde_json::json!({"kind": "run_lead", "lead": 0, "number": "+1", "priority": 0,
            "added": 0, "status": "fresh", "attempts": 0, "attempts_today": 0, "day": 0,
            "last_outcome": null});
        let mut reader = RunStartReader::default();
        assert_eq!(
            reader.read(1, "run_lead", &lead),
            Err("run_lead before run_start".into())
        );
        let begin = serde_json::json!({"kind": "run_start", "epoch": "2026-12-06T14:00:00Z",
            "first_attempt": 1, "stored": true, "leads": 2, "prior_answers": 0, "recovered": 0});
        assert_eq!(reader.read(2, "run_start", &begin), Ok(true));
        let mut second = lead.clone();
        second["lead"] = 1.into();
        assert_eq!(
            reader.read(3, "run_lead", &second),
            Err("run_lead 1 out of order: lead 0 was expected".into())
        );
        let mut waiting = lead.clone();
        waiting["status"] = "waiting".into();
        assert_eq!(
            reader.read(3, "run_lead", &waiting),
            Err("run_lead with status \"waiting\"".into()),
            "a waiting lead needs its due time"
        );
        assert_eq!(reader.read(4, "dial", &serde_json::json!({})), Ok(false));
        assert_eq!(
            reader.read(5, "run_start", &begin),
            Err("a second run_start record: the trace holds more than one run".into())
        );
    }
}
