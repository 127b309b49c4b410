//! `dialer serve --demo`: an embedded fake PortaSwitch ([`crate::fake_switch`], in-process, on
//! loopback) with a simulated call centre, and a demo campaign against it, started at once, so
//! a new user sees calls come alive. The same console runs against real PortaSwitch; only the
//! campaign file differs.
//!
//! The world and the campaign template are embedded (`demo/world.toml`, `demo/campaign.toml`).
//! The template is also what `GET /api/demo/template` serves, so a campaign created from the
//! console's form runs against the same fake switch.

use super::manager::{CampaignManager, CampaignText, CreateLive};
use crate::fake_switch::{FakeConfig, FakeSwitchThread};
use crate::scenario::Scenario;

/// The simulated world behind the demo switch.
pub const WORLD: &str = include_str!("demo/world.toml");
/// The campaign template for the demo switch.
pub const CAMPAIGN_TEMPLATE: &str = include_str!("demo/campaign.toml");
/// Simulated seconds per real second in the demo's world.
pub const TIME_SCALE: f64 = 5.0;
/// Leads of the demo campaign started with the console.
pub const DEMO_LEADS: u64 = 2000;

/// A running demo: the fake switch and the template for new campaigns.
pub struct Demo {
    pub fake: FakeSwitchThread,
    /// A campaign file for the fake switch, with `{{NAME}}` and `{{DESCRIPTION}}` filled in
    /// as "new-campaign".
    pub template: String,
    /// The demo campaign's id.
    pub campaign: u64,
}

/// Fills in a template's placeholders.
fn fill(template: &str, pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .fold(template.to_string(), |text, (key, value)| {
            text.replace(&format!("{{{{{key}}}}}"), value)
        })
}

/// Starts the fake switch and the demo campaign.
pub fn start(manager: &CampaignManager) -> Result<Demo, String> {
    let world = Scenario::from_toml("(demo world)", WORLD, &[]).map_err(|e| e.to_string())?;
    let config = FakeConfig::for_scenario(world, TIME_SCALE);
    let password = config.password.clone().unwrap_or_default();
    let listen = "127.0.0.1:0"
        .parse()
        .map_err(|_| "bad address".to_string())?;
    let fake = FakeSwitchThread::spawn(config, listen)
        .map_err(|error| format!("cannot start the fake switch: {error}"))?;
    let secret = super::auth::random_hex(16).map_err(|error| error.to_string())?;
    let url = fake.url();
    let base = [
        ("SWITCH_URL", url.as_str()),
        ("SWITCH_PASSWORD", password.as_str()),
        ("WEBHOOK_SECRET", secret.as_str()),
    ];
    let template = fill(CAMPAIGN_TEMPLATE, &base);
    let demo_file = format!(
        "{}\n[leads]\ncount = {DEMO_LEADS}\nprefix = \"+1555\"\n",
        fill(
            &template,
            &[
                ("NAME", "demo"),
                (
                    "DESCRIPTION",
                    "the demo campaign, against the embedded fake switch"
                ),
            ]
        )
    );
    let managed = manager
        .create_live(CreateLive {
            file: CampaignText::Toml(demo_file),
            leads_csv: None,
            abandon_cap: None,
            // Made afresh at every start, against a fake switch on a new port.
            keep: false,
        })
        .map_err(|error| format!("the demo campaign: {error}"))?;
    manager
        .start(managed.id)
        .map_err(|error| format!("the demo campaign: {error}"))?;
    let template = fill(
        &template,
        &[
            ("NAME", "new-campaign"),
            ("DESCRIPTION", "a campaign against the demo switch"),
        ],
    );
    Ok(Demo {
        fake,
        template,
        campaign: managed.id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_is_a_valid_campaign_once_filled() {
        let text = fill(
            CAMPAIGN_TEMPLATE,
            &[
                ("NAME", "t"),
                ("DESCRIPTION", "d"),
                ("SWITCH_URL", "http://127.0.0.1:9"),
                ("SWITCH_PASSWORD", "pw"),
                ("WEBHOOK_SECRET", "0123456789abcdef0123"),
            ],
        );
        assert!(!text.contains("{{"));
        let with_leads = format!("{text}\n[leads]\ncount = 5\n");
        let campaign =
            crate::live::campaign::LiveCampaign::from_toml("t", &with_leads, &[], &|_| None)
                .expect("valid campaign");
        assert_eq!(campaign.name, "t");
        Scenario::from_toml("w", WORLD, &[]).expect("valid world");
    }
}
