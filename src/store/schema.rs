//! The store's schema, as numbered migrations.
//!
//! `PRAGMA user_version` holds the number of migrations applied. Opening a store applies the
//! missing ones in order, each in its own transaction; a store written by a newer dialer (a
//! higher version than this one knows) is refused rather than guessed at. A migration is never
//! edited once released: a change is a new migration at the end.
//!
//! Times are unix microseconds (UTC) in INTEGER columns; phone numbers are E.164 text.

/// Migrations in order; index + 1 is the schema version each one produces.
pub const MIGRATIONS: &[&str] = &[
    // 1: campaigns, leads, attempts, call events, the DNC list and the abandon log.
    "
    CREATE TABLE campaigns (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        created_at  INTEGER NOT NULL
    );
    CREATE TABLE leads (
        id           INTEGER PRIMARY KEY,
        campaign_id  INTEGER NOT NULL REFERENCES campaigns(id),
        phone        TEXT NOT NULL,
        time_zone    TEXT,
        region       TEXT,
        priority     INTEGER NOT NULL DEFAULT 0,
        fields       TEXT NOT NULL DEFAULT '{}',
        created_at   INTEGER NOT NULL,
        source       TEXT,
        -- new | dialing | waiting | done | dnc | no_window
        status       TEXT NOT NULL DEFAULT 'new',
        attempts     INTEGER NOT NULL DEFAULT 0,
        next_at      INTEGER,
        last_outcome TEXT,
        UNIQUE (campaign_id, phone)
    );
    CREATE TABLE attempts (
        id           INTEGER PRIMARY KEY,
        campaign_id  INTEGER NOT NULL REFERENCES campaigns(id),
        attempt      INTEGER NOT NULL,
        lead_id      INTEGER REFERENCES leads(id),
        phone        TEXT NOT NULL,
        started_at   INTEGER NOT NULL,
        ended_at     INTEGER,
        outcome      TEXT,
        answered_at  INTEGER,
        agent_at     INTEGER,
        talk_us      INTEGER,
        switch_call  TEXT,
        tracking_id  TEXT,
        reason       TEXT,
        reason_code  INTEGER,
        UNIQUE (campaign_id, attempt)
    );
    CREATE INDEX attempts_open ON attempts (campaign_id) WHERE outcome IS NULL;
    CREATE INDEX attempts_by_lead ON attempts (lead_id, started_at);
    CREATE TABLE call_events (
        campaign_id  INTEGER NOT NULL,
        attempt      INTEGER NOT NULL,
        at           INTEGER NOT NULL,
        state        TEXT NOT NULL
    );
    CREATE TABLE dnc (
        phone     TEXT PRIMARY KEY,
        added_at  INTEGER NOT NULL,
        source    TEXT
    ) WITHOUT ROWID;
    CREATE TABLE abandon_log (
        campaign_id  INTEGER NOT NULL REFERENCES campaigns(id),
        at           INTEGER NOT NULL,
        attempt      INTEGER NOT NULL,
        kind         TEXT NOT NULL
    );
    CREATE INDEX abandon_log_by_time ON abandon_log (campaign_id, at);
    ",
    // 2: what the abandon windows need to be rebuilt after a restart.
    "
    ALTER TABLE abandon_log ADD COLUMN answered_at INTEGER;
    ALTER TABLE abandon_log ADD COLUMN reached_queue INTEGER;
    ALTER TABLE abandon_log ADD COLUMN wait_us INTEGER;
    ALTER TABLE abandon_log ADD COLUMN true_abandon INTEGER;
    ",
];

/// The schema version this build writes.
pub const CURRENT_VERSION: i64 = MIGRATIONS.len() as i64;
