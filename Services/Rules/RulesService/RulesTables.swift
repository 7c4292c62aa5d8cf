import GRDB
import VectisDelivery

/// Rules, customer → PSA company mappings, tickets, the actions queued for the PSA, and the audit log.
enum RulesTables {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        DeliveryTables.register(in: &migrator)
        migrator.registerMigration("rules-v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE rule (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        tenant TEXT NOT NULL,
                        template_id TEXT NOT NULL,
                        name TEXT NOT NULL,
                        psa TEXT NOT NULL,
                        settings TEXT NOT NULL,
                        secrets_sealed BLOB NOT NULL,
                        threshold_nights INTEGER NOT NULL,
                        close_on_recovery BOOLEAN NOT NULL,
                        action TEXT NOT NULL CHECK (action IN ('ticket', 'retry', 'both')),
                        max_retries INTEGER NOT NULL,
                        dry_run_until DOUBLE NOT NULL,
                        enabled BOOLEAN NOT NULL,
                        created_at DOUBLE NOT NULL
                    );
                    CREATE TABLE psa_mapping (
                        psa TEXT NOT NULL,
                        customer_id TEXT NOT NULL,
                        company_id TEXT NOT NULL,
                        updated_at DOUBLE NOT NULL,
                        PRIMARY KEY (psa, customer_id)
                    );
                    CREATE TABLE ticket (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        rule_id INTEGER NOT NULL REFERENCES rule (id),
                        dedupe_key TEXT NOT NULL,
                        tenant TEXT NOT NULL,
                        customer_id TEXT NOT NULL,
                        customer_name TEXT NOT NULL,
                        agent_id TEXT NOT NULL,
                        agent_name TEXT NOT NULL,
                        device_serial TEXT NOT NULL,
                        company_id TEXT NOT NULL,
                        external_id TEXT,
                        state TEXT NOT NULL CHECK (state IN ('opening', 'open', 'closed', 'failed')),
                        opened_night TEXT NOT NULL,
                        last_noted_night TEXT NOT NULL,
                        notes INTEGER NOT NULL DEFAULT 0,
                        recovered_at DOUBLE,
                        created_at DOUBLE NOT NULL,
                        closed_at DOUBLE
                    );
                    -- One live ticket per problem and rule.
                    CREATE UNIQUE INDEX ticket_one_live ON ticket (rule_id, dedupe_key) WHERE state IN ('opening', 'open');
                    CREATE TABLE psa_action (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        ticket_id INTEGER NOT NULL REFERENCES ticket (id),
                        kind TEXT NOT NULL CHECK (kind IN ('open', 'note', 'close')),
                        text TEXT NOT NULL,
                        state TEXT NOT NULL CHECK (state IN ('pending', 'in-flight', 'done', 'failed')),
                        attempts INTEGER NOT NULL DEFAULT 0,
                        not_before DOUBLE NOT NULL DEFAULT 0,
                        last_error TEXT,
                        created_at DOUBLE NOT NULL,
                        updated_at DOUBLE NOT NULL
                    );
                    CREATE INDEX psa_action_pending ON psa_action (state, id);
                    -- Append-only: every decision and every PSA call.
                    CREATE TABLE audit (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        rule_id INTEGER,
                        at DOUBLE NOT NULL,
                        subject TEXT,
                        kind TEXT NOT NULL,
                        detail TEXT NOT NULL,
                        status INTEGER,
                        duration_ms INTEGER,
                        dry_run BOOLEAN NOT NULL DEFAULT 0
                    );
                    CREATE INDEX audit_rule ON audit (rule_id, id);
                    CREATE TRIGGER audit_append_only_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
                    CREATE TRIGGER audit_append_only_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
                    """)
        }
        migrator.registerMigration("rules-v2-audit-decisions") { db in
            // "Was this decided already for this problem and night?" is asked for every failed run: without this
            // index it scanned the rule's whole history (measured: the rules service's main cost at volume).
            try db.execute(sql: "CREATE INDEX audit_decision ON audit (rule_id, subject, kind, detail)")
        }
        migrator.registerMigration("rules-v3-triggers") { db in
            // Rules on silent failures (backup-missed, device-offline, offsite-stale) beside failed nights; each
            // ticket keeps the summary it was opened with.
            try db.execute(
                sql: """
                    ALTER TABLE rule ADD COLUMN trigger TEXT NOT NULL DEFAULT 'failed-nights';
                    ALTER TABLE ticket ADD COLUMN summary TEXT;
                    """)
        }
        return migrator
    }
}
