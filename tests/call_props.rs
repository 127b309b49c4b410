//! Property tests of the pure call machine: whatever the switch sends, in whatever order, with
//! duplicates and strangers mixed in, the machine never panics, ends exactly once, and stays
//! ended.

use dialer::call::machine::{CallMachine, CallSettings, Effect, Effects, Input};
use dialer::domain::{AppState, AttemptId, LeadId, Outcome, PhoneNumber};
use dialer::switch::reasons::sim_reasons;
use dialer::switch::{CallRef, CallStatus, StateNotification, SwitchEvent};
use dialer::time::{SimDuration, SimTime};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Step {
    Accepted {
        stranger: bool,
    },
    Rejected,
    Note {
        status: CallStatus,
        stranger: bool,
        tracking: u8,
        /// Switch timestamp, seconds; may go backwards.
        update_time: Option<u64>,
        reason: usize,
    },
    Watchdog,
    /// Time passes before the next step.
    Wait(u64),
}

const REASONS: [(&str, u16); 8] = [
    sim_reasons::NORMAL_CLEARING,
    sim_reasons::NO_ANSWER,
    sim_reasons::BUSY,
    sim_reasons::DECLINED,
    sim_reasons::INVALID_NUMBER,
    sim_reasons::FAILED,
    sim_reasons::MACHINE,
    sim_reasons::AGENT_NO_ANSWER,
];

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        1 => any::<bool>().prop_map(|stranger| Step::Accepted { stranger }),
        1 => Just(Step::Rejected),
        8 => (
            prop::sample::select(CallStatus::ALL.to_vec()),
            prop::bool::weighted(0.1),
            0u8..2,
            prop::option::weighted(0.9, 0u64..50),
            0..REASONS.len(),
        )
            .prop_map(|(status, stranger, tracking, update_time, reason)| Step::Note {
                status,
                stranger,
                tracking,
                update_time,
                reason,
            }),
        1 => Just(Step::Watchdog),
        2 => (0u64..20_000).prop_map(Step::Wait),
    ]
}

fn call(stranger: bool) -> CallRef {
    if stranger {
        CallRef {
            id: "someone-else".into(),
            tag: "x".into(),
        }
    } else {
        CallRef {
            id: "sim-1".into(),
            tag: "t1".into(),
        }
    }
}

fn event_for(step: &Step) -> Option<SwitchEvent> {
    Some(match step {
        Step::Accepted { stranger } => SwitchEvent::Accepted {
            call: call(*stranger),
            tracking_id: "trk-0".into(),
        },
        Step::Rejected => SwitchEvent::Rejected {
            reason: "Server.CallControl.originate_failed".into(),
        },
        Step::Note {
            status,
            stranger,
            tracking,
            update_time,
            reason,
        } => {
            let (text, code) = REASONS[*reason];
            let terminated = *status == CallStatus::Terminated;
            SwitchEvent::State(StateNotification {
                call: call(*stranger),
                tracking_id: format!("trk-{tracking}").into(),
                state: *status,
                reason: terminated.then(|| text.into()),
                reason_code: terminated.then_some(code),
                update_time: update_time.map(SimTime::from_secs),
            })
        }
        Step::Watchdog | Step::Wait(_) => return None,
    })
}

/// Feeds `steps` (and then two late watchdog pokes) and checks the machine's promises.
fn check(steps: &[Step]) -> Result<(), TestCaseError> {
    let settings = CallSettings::default();
    let mut machine = CallMachine::new(
        AttemptId(1),
        LeadId(1),
        PhoneNumber("+15550000001".into()),
        settings,
    );
    let mut now = SimTime::ZERO;
    let mut ended: Option<Outcome> = None;
    let mut endings = 0;
    let mut apply =
        |machine: &mut CallMachine, input: Input<'_>, now: SimTime| -> Result<(), TestCaseError> {
            let was_ended = machine.is_ended();
            let mut out = Effects::new();
            machine.handle(input, now, &mut out);
            for effect in &out {
                match effect {
                    Effect::Ended(record) => {
                        endings += 1;
                        prop_assert!(!was_ended, "ended twice");
                        prop_assert_eq!(machine.state(), AppState::Ended(record.outcome));
                        prop_assert!(record.ended_at >= record.dialed_at);
                        if let (Some(answered), Some(agent)) = (record.answered_at, record.agent_at)
                        {
                            prop_assert!(agent >= answered);
                        }
                        if record.outcome == Outcome::Completed {
                            prop_assert!(record.agent_at.is_some(), "completed without an agent");
                        }
                        ended = Some(record.outcome);
                    }
                    Effect::Originate { .. } | Effect::Hangup { .. } => {
                        prop_assert!(!was_ended, "a command after the end: {:?}", effect);
                    }
                    Effect::Anomaly(_) => {}
                }
            }
            if let Some(outcome) = ended {
                prop_assert_eq!(
                    machine.state(),
                    AppState::Ended(outcome),
                    "the end must absorb"
                );
                prop_assert_eq!(machine.watchdog_deadline(), None);
            }
            Ok(())
        };
    apply(&mut machine, Input::Start, now)?;
    for step in steps {
        match step {
            Step::Wait(ms) => now += SimDuration::from_millis(*ms),
            Step::Watchdog => apply(&mut machine, Input::Watchdog, now)?,
            other => {
                let event = event_for(other).expect("an event step");
                apply(&mut machine, Input::Event(&event), now)?;
            }
        }
    }
    // However the switch behaved, the watchdog brings every attempt to exactly one end.
    for _ in 0..3 {
        now += SimDuration::from_secs(5 * 3600);
        apply(&mut machine, Input::Watchdog, now)?;
    }
    prop_assert!(machine.is_ended(), "still {:?}", machine.state());
    prop_assert_eq!(endings, 1);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn any_event_sequence_ends_exactly_once(steps in prop::collection::vec(step(), 0..40)) {
        check(&steps)?;
    }

    #[test]
    fn duplicating_every_notification_changes_nothing(steps in prop::collection::vec(step(), 0..25)) {
        // Delivering each event twice must give the same outcome as delivering it once.
        let outcome_of = |steps: &[Step]| {
            let mut machine = CallMachine::new(AttemptId(1), LeadId(1), PhoneNumber("+1".into()), CallSettings::default());
            let mut out = Effects::new();
            let mut now = SimTime::ZERO;
            machine.handle(Input::Start, now, &mut out);
            for step in steps {
                match step {
                    Step::Wait(ms) => now += SimDuration::from_millis(*ms),
                    Step::Watchdog => machine.handle(Input::Watchdog, now, &mut out),
                    other => {
                        let event = event_for(other).expect("an event step");
                        machine.handle(Input::Event(&event), now, &mut out);
                    }
                }
            }
            machine.state()
        };
        // Only timestamped notifications are recognisable as duplicates.
        let timestamped: Vec<Step> = steps
            .into_iter()
            .filter(|s| matches!(s, Step::Note { update_time: Some(_), .. } | Step::Wait(_)))
            .collect();
        let doubled: Vec<Step> = timestamped
            .iter()
            .flat_map(|s| match s {
                Step::Wait(_) => vec![s.clone()],
                _ => vec![s.clone(), s.clone()],
            })
            .collect();
        prop_assert_eq!(outcome_of(&timestamped), outcome_of(&doubled));
    }
}

#[test]
fn a_known_tricky_sequence() {
    // connected, queued, dequeued, connected at one switch timestamp: four genuine events.
    let steps: Vec<Step> = [
        CallStatus::Connected,
        CallStatus::Queued,
        CallStatus::Dequeued,
        CallStatus::Connected,
        CallStatus::Terminated,
    ]
    .into_iter()
    .map(|status| Step::Note {
        status,
        stranger: false,
        tracking: 0,
        update_time: Some(5),
        reason: 0,
    })
    .collect();
    check(&steps).unwrap();
}
