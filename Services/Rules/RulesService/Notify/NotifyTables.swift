import GRDB

/// Channels, the messages queued for them, what each rule last announced about each problem, and the open
/// problems the daily digest lists.
enum NotifyTables {
    static func create(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE notify_channel (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    tenant TEXT NOT NULL,
                    name TEXT NOT NULL,
                    kind TEXT NOT NULL CHECK (kind IN ('email', 'teams', 'slack', 'webhook')),
                    settings TEXT NOT NULL,
                    secrets_sealed BLOB NOT NULL,
                    rate_per_hour INTEGER NOT NULL,
                    digest_at TEXT,
                    digest_time_zone TEXT NOT NULL DEFAULT 'UTC',
                    next_digest_at DOUBLE,
                    enabled BOOLEAN NOT NULL DEFAULT 1,
                    status TEXT NOT NULL DEFAULT 'untested' CHECK (status IN ('ok', 'failing', 'untested')),
                    last_error TEXT,
                    last_sent_at DOUBLE,
                    last_failed_at DOUBLE,
                    created_at DOUBLE NOT NULL
                );
                CREATE TABLE notification (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    channel_id INTEGER NOT NULL REFERENCES notify_channel (id) ON DELETE CASCADE,
                    rule_id INTEGER,
                    -- The problem (the rule's dedupe key), a digest's tenant and day, or a test's id.
                    dedupe_key TEXT NOT NULL,
                    event TEXT NOT NULL CHECK (event IN ('open', 'repeat', 'recovery', 'digest', 'test')),
                    -- The night or day it is about: one message per problem, event and night, however often decided.
                    token TEXT NOT NULL,
                    message TEXT NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('pending', 'in-flight', 'sent', 'failed')),
                    attempts INTEGER NOT NULL DEFAULT 0,
                    not_before DOUBLE NOT NULL DEFAULT 0,
                    last_error TEXT,
                    created_at DOUBLE NOT NULL,
                    sent_at DOUBLE
                );
                CREATE UNIQUE INDEX notification_once ON notification (channel_id, dedupe_key, event, token);
                CREATE INDEX notification_due ON notification (state, not_before);
                CREATE INDEX notification_sent ON notification (channel_id, sent_at);
                -- Whether each rule's channels were told a problem is on (so recovery is announced once, and only then).
                CREATE TABLE notify_problem (
                    rule_id INTEGER NOT NULL,
                    dedupe_key TEXT NOT NULL,
                    announced BOOLEAN NOT NULL,
                    last_token TEXT NOT NULL,
                    -- The night count (or day) last told: a lower one later is a new streak whose end was never seen.
                    last_count INTEGER NOT NULL DEFAULT 0,
                    updated_at DOUBLE NOT NULL,
                    PRIMARY KEY (rule_id, dedupe_key)
                );
                -- Agents failing or missing backups now, whatever the rules: what the daily digest lists.
                CREATE TABLE open_problem (
                    tenant TEXT NOT NULL,
                    subject_id TEXT NOT NULL,
                    trigger TEXT NOT NULL CHECK (trigger IN ('failed-nights', 'backup-missed')),
                    customer_id TEXT NOT NULL,
                    customer_name TEXT NOT NULL,
                    subject_name TEXT NOT NULL,
                    device_serial TEXT NOT NULL,
                    count INTEGER NOT NULL,
                    error TEXT,
                    since_token TEXT NOT NULL,
                    updated_at DOUBLE NOT NULL,
                    PRIMARY KEY (tenant, subject_id, trigger)
                );
                -- `notify` joins the rule's actions (SQLite changes a CHECK only by copying the table), and a rule
                -- names its channels.
                CREATE TABLE rule_v6 (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    tenant TEXT NOT NULL,
                    template_id TEXT NOT NULL,
                    name TEXT NOT NULL,
                    psa TEXT NOT NULL,
                    settings TEXT NOT NULL,
                    secrets_sealed BLOB NOT NULL,
                    threshold_nights INTEGER NOT NULL,
                    close_on_recovery BOOLEAN NOT NULL,
                    action TEXT NOT NULL CHECK (action IN ('ticket', 'retry', 'both', 'notify')),
                    max_retries INTEGER NOT NULL,
                    dry_run_until DOUBLE NOT NULL,
                    enabled BOOLEAN NOT NULL,
                    created_at DOUBLE NOT NULL,
                    trigger TEXT NOT NULL DEFAULT 'failed-nights',
                    when_closed_by_person TEXT NOT NULL DEFAULT 'reopen'
                        CHECK (when_closed_by_person IN ('reopen', 'new-ticket', 'leave')),
                    reopen_window_days INTEGER NOT NULL DEFAULT 7,
                    notify_channels TEXT NOT NULL DEFAULT '[]',
                    notify_repeat BOOLEAN NOT NULL DEFAULT 0
                );
                INSERT INTO rule_v6 (id, tenant, template_id, name, psa, settings, secrets_sealed, threshold_nights,
                    close_on_recovery, action, max_retries, dry_run_until, enabled, created_at, trigger, when_closed_by_person,
                    reopen_window_days)
                SELECT id, tenant, template_id, name, psa, settings, secrets_sealed, threshold_nights, close_on_recovery, action,
                    max_retries, dry_run_until, enabled, created_at, trigger, when_closed_by_person, reopen_window_days FROM rule;
                DROP TABLE rule;
                ALTER TABLE rule_v6 RENAME TO rule;
                """)
    }
}
