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
        migrator.registerMigration("rules-v4-ticket-read-back") { db in
            // Tickets read back from the PSA (who closed them, what the PSA says), reopened within a window, replaced
            // after a person's close; `reopen` joins the queue's kinds (SQLite changes a CHECK only by copying the table).
            try db.execute(
                sql: """
                    ALTER TABLE rule ADD COLUMN when_closed_by_person TEXT NOT NULL DEFAULT 'reopen'
                        CHECK (when_closed_by_person IN ('reopen', 'new-ticket', 'leave'));
                    ALTER TABLE rule ADD COLUMN reopen_window_days INTEGER NOT NULL DEFAULT 7;
                    ALTER TABLE ticket ADD COLUMN closed_by TEXT CHECK (closed_by IN ('vectis', 'person'));
                    ALTER TABLE ticket ADD COLUMN psa_state TEXT CHECK (psa_state IN ('open', 'closed', 'merged', 'deleted'));
                    ALTER TABLE ticket ADD COLUMN psa_status TEXT;
                    ALTER TABLE ticket ADD COLUMN checked_at DOUBLE;
                    ALTER TABLE ticket ADD COLUMN reopens INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE ticket ADD COLUMN replaces_ticket_id INTEGER REFERENCES ticket (id);
                    UPDATE ticket SET closed_by = 'vectis' WHERE state = 'closed';
                    -- The latest ticket of a problem, and the open tickets least recently read back.
                    CREATE INDEX ticket_problem ON ticket (rule_id, dedupe_key, id);
                    CREATE INDEX ticket_read_back ON ticket (state, checked_at);
                    CREATE TABLE psa_action_v4 (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        ticket_id INTEGER NOT NULL REFERENCES ticket (id),
                        kind TEXT NOT NULL CHECK (kind IN ('open', 'note', 'close', 'reopen')),
                        text TEXT NOT NULL,
                        state TEXT NOT NULL CHECK (state IN ('pending', 'in-flight', 'done', 'failed')),
                        attempts INTEGER NOT NULL DEFAULT 0,
                        not_before DOUBLE NOT NULL DEFAULT 0,
                        last_error TEXT,
                        created_at DOUBLE NOT NULL,
                        updated_at DOUBLE NOT NULL
                    );
                    INSERT INTO psa_action_v4 SELECT id, ticket_id, kind, text, state, attempts, not_before, last_error, created_at,
                        updated_at FROM psa_action;
                    DROP TABLE psa_action;
                    ALTER TABLE psa_action_v4 RENAME TO psa_action;
                    CREATE INDEX psa_action_pending ON psa_action (state, id);
                    """)
        }
        migrator.registerMigration("rules-v5-agent-class") { db in
            // What each agent protects (from the collector's `datto.agent.seen`), which sets its tickets' priority.
            try db.execute(
                sql: """
                    CREATE TABLE agent_class (
                        agent_id TEXT PRIMARY KEY,
                        class TEXT NOT NULL CHECK (class IN ('server', 'workstation', 'share')),
                        os TEXT,
                        updated_at DOUBLE NOT NULL
                    );
                    ALTER TABLE ticket ADD COLUMN agent_class TEXT CHECK (agent_class IN ('server', 'workstation', 'share'));
                    """)
        }
        migrator.registerMigration("rules-v6-notify") { db in
            try NotifyTables.create(db)
        }
        return migrator
    }
}
