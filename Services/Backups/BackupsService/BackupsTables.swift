import GRDB
import VectisDelivery

/// The backups service's tables: `backup_jobs` (one row per run), the agents it knows, their summaries.
enum BackupsTables {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        DeliveryTables.register(in: &migrator)
        migrator.registerMigration("backups-v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE backup_jobs (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        agent_id TEXT NOT NULL,
                        tenant TEXT NOT NULL,
                        customer_id TEXT NOT NULL,
                        customer_key TEXT NOT NULL,
                        customer_name TEXT NOT NULL,
                        device_serial TEXT NOT NULL,
                        agent_volume TEXT NOT NULL,
                        agent_name TEXT NOT NULL,
                        run_at DOUBLE NOT NULL,
                        night TEXT NOT NULL,
                        status TEXT NOT NULL CHECK (status IN ('success', 'failure')),
                        raw_status TEXT NOT NULL,
                        error_message TEXT,
                        size_bytes INTEGER,
                        local_verification_status TEXT,
                        local_verification_errors TEXT,
                        screenshot_status TEXT,
                        screenshot_image TEXT,
                        first_seen_at DOUBLE NOT NULL,
                        UNIQUE (tenant, device_serial, agent_volume, run_at)
                    );
                    CREATE INDEX backup_jobs_agent ON backup_jobs (agent_id, run_at);
                    CREATE INDEX backup_jobs_agent_night ON backup_jobs (agent_id, night);
                    CREATE INDEX backup_jobs_customer ON backup_jobs (customer_id, run_at);
                    CREATE TABLE agent (
                        id TEXT PRIMARY KEY NOT NULL,
                        tenant TEXT NOT NULL,
                        customer_id TEXT NOT NULL,
                        customer_key TEXT NOT NULL,
                        customer_name TEXT NOT NULL,
                        device_serial TEXT NOT NULL,
                        volume TEXT NOT NULL,
                        name TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        is_paused BOOLEAN NOT NULL DEFAULT 0,
                        is_archived BOOLEAN NOT NULL DEFAULT 0,
                        updated_at DOUBLE NOT NULL
                    );
                    CREATE INDEX agent_customer ON agent (customer_id);
                    -- Maintained on every new run, so cards never scan history.
                    CREATE TABLE agent_summary (
                        agent_id TEXT PRIMARY KEY NOT NULL,
                        last_run_at DOUBLE,
                        last_success_at DOUBLE,
                        last_failure_at DOUBLE,
                        last_failure_message TEXT,
                        currently_failing BOOLEAN NOT NULL DEFAULT 0,
                        failed_nights INTEGER NOT NULL DEFAULT 0
                    );
                    """)
        }
        migrator.registerMigration("backups-v2-silence") { db in
            // What the silence check needs: when each agent became known (its grace), its latest offsite point,
            // whether Datto still lists it; each appliance's last check-in and when the collector last reported on it;
            // and the conditions in force, so a restart neither forgets one nor raises it twice.
            try db.execute(
                sql: """
                    ALTER TABLE agent ADD COLUMN first_known_at DOUBLE;
                    UPDATE agent SET first_known_at = updated_at;
                    ALTER TABLE agent ADD COLUMN latest_offsite_at DOUBLE;
                    ALTER TABLE agent ADD COLUMN last_snapshot_at DOUBLE;
                    ALTER TABLE agent ADD COLUMN is_removed BOOLEAN NOT NULL DEFAULT 0;
                    CREATE TABLE device (
                        tenant TEXT NOT NULL,
                        serial TEXT NOT NULL,
                        name TEXT NOT NULL,
                        customer_id TEXT NOT NULL,
                        customer_key TEXT NOT NULL,
                        customer_name TEXT NOT NULL,
                        last_seen_at DOUBLE,
                        hidden BOOLEAN NOT NULL,
                        observed_at DOUBLE NOT NULL,
                        -- When the check saw it back after being offline: its agents wait for news newer than that.
                        back_online_at DOUBLE,
                        PRIMARY KEY (tenant, serial)
                    );
                    CREATE TABLE condition (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        tenant TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        subject_id TEXT NOT NULL,
                        customer_id TEXT NOT NULL,
                        device_serial TEXT NOT NULL,
                        agent_volume TEXT,
                        since DOUBLE NOT NULL,
                        days INTEGER NOT NULL,
                        started_at DOUBLE NOT NULL,
                        ended_at DOUBLE,
                        end_reason TEXT
                    );
                    CREATE UNIQUE INDEX condition_one_active ON condition (tenant, kind, subject_id) WHERE ended_at IS NULL;
                    CREATE INDEX condition_customer ON condition (customer_id) WHERE ended_at IS NULL;
                    """)
        }
        migrator.registerMigration("backups-v3-summary-night") { db in
            // The night of the agent's latest run: with it, a run that is the agent's newest (the usual order)
            // updates the summary from the summary alone instead of re-reading the agent's history.
            try db.execute(sql: "ALTER TABLE agent_summary ADD COLUMN last_night TEXT")
        }
        migrator.registerMigration("backups-v4-screenshots-storage") { db in
            // Screenshot verification per agent (latest attempt and its result, latest success, since when failing),
            // appliance storage as last read with its projected full date, samples for that projection, and the
            // severity each condition was last published with (storage turns high without a day passing).
            try db.execute(
                sql: """
                    ALTER TABLE agent ADD COLUMN screenshot_at DOUBLE;
                    ALTER TABLE agent ADD COLUMN screenshot_ok BOOLEAN;
                    ALTER TABLE agent ADD COLUMN screenshot_success_at DOUBLE;
                    ALTER TABLE agent ADD COLUMN screenshot_failing_since DOUBLE;
                    ALTER TABLE device ADD COLUMN storage_used_bytes INTEGER;
                    ALTER TABLE device ADD COLUMN storage_available_bytes INTEGER;
                    ALTER TABLE device ADD COLUMN storage_full_at DOUBLE;
                    ALTER TABLE condition ADD COLUMN severity TEXT;
                    ALTER TABLE condition ADD COLUMN detail TEXT;
                    CREATE TABLE device_storage_sample (
                        tenant TEXT NOT NULL,
                        serial TEXT NOT NULL,
                        at DOUBLE NOT NULL,
                        used_bytes INTEGER NOT NULL,
                        available_bytes INTEGER NOT NULL,
                        PRIMARY KEY (tenant, serial, at)
                    ) WITHOUT ROWID;
                    """)
        }
        migrator.registerMigration("backups-v5-nights") { db in
            // The per-night roll-up behind the grid, the rates and the dashboard: each agent's night (runs, a pause, a
            // silent condition), each customer's expected and succeeded agent-nights per night, the roll-up mode a
            // customer asked for, and the last night each silent condition was marked on its agents' nights.
            // Filled from the history already recorded.
            try db.execute(
                sql: """
                    CREATE TABLE agent_night (
                        agent_id TEXT NOT NULL,
                        night TEXT NOT NULL,
                        tenant TEXT NOT NULL,
                        customer_id TEXT NOT NULL,
                        successes INTEGER NOT NULL DEFAULT 0,
                        failures INTEGER NOT NULL DEFAULT 0,
                        last_run_at DOUBLE,
                        last_status TEXT CHECK (last_status IN ('success', 'failure')),
                        last_error TEXT,
                        paused BOOLEAN NOT NULL DEFAULT 0,
                        silence TEXT CHECK (silence IN ('missed', 'offline')),
                        PRIMARY KEY (agent_id, night)
                    ) WITHOUT ROWID;
                    CREATE TABLE customer_night (
                        customer_id TEXT NOT NULL,
                        night TEXT NOT NULL,
                        tenant TEXT NOT NULL,
                        expected INTEGER NOT NULL DEFAULT 0,
                        succeeded INTEGER NOT NULL DEFAULT 0,
                        PRIMARY KEY (customer_id, night)
                    ) WITHOUT ROWID;
                    CREATE INDEX customer_night_night ON customer_night (night);
                    CREATE TABLE customer_setting (
                        customer_id TEXT PRIMARY KEY NOT NULL,
                        roll_up TEXT CHECK (roll_up IN ('worst', 'last', 'best'))
                    );
                    ALTER TABLE condition ADD COLUMN marked_night TEXT;
                    INSERT INTO agent_night (agent_id, night, tenant, customer_id, successes, failures, last_run_at, last_status, last_error)
                    SELECT j.agent_id, j.night, MAX(j.tenant), MAX(j.customer_id), SUM(j.status = 'success'), SUM(j.status = 'failure'),
                        MAX(j.run_at),
                        (SELECT l.status FROM backup_jobs l WHERE l.agent_id = j.agent_id AND l.night = j.night ORDER BY l.run_at DESC LIMIT 1),
                        (SELECT l.error_message FROM backup_jobs l WHERE l.agent_id = j.agent_id AND l.night = j.night AND l.status = 'failure'
                            ORDER BY l.run_at DESC LIMIT 1)
                    FROM backup_jobs j GROUP BY j.agent_id, j.night;
                    INSERT INTO customer_night (customer_id, night, tenant, expected, succeeded)
                    SELECT customer_id, night, MAX(tenant), COUNT(*), SUM(successes > 0) FROM agent_night GROUP BY customer_id, night;
                    """)
        }
        migrator.registerMigration("backups-v6-job-kind") { db in
            // What each run backed up (agent, share, SaaS application, endpoint), from the run or else its agent.
            try db.execute(
                sql: """
                    ALTER TABLE backup_jobs ADD COLUMN kind TEXT NOT NULL DEFAULT 'agent'
                        CHECK (kind IN ('agent', 'share', 'saas', 'endpoint'));
                    UPDATE backup_jobs SET kind = (SELECT a.kind FROM agent a WHERE a.id = backup_jobs.agent_id)
                        WHERE EXISTS (SELECT 1 FROM agent a WHERE a.id = backup_jobs.agent_id AND a.kind != 'agent');
                    """)
        }
        migrator.registerMigration("backups-v7-natural-key-only") { db in
            // An agent's runs are found through the natural key `(tenant, device_serial, agent_volume, run_at)`, which
            // must exist anyway to record each run once: two more indexes keyed by the hashed agent id cost two random
            // B-tree pages on every recorded run (the largest share of the service's writes) and answered nothing the
            // natural key cannot.
            try db.execute(
                sql: """
                    DROP INDEX IF EXISTS backup_jobs_agent;
                    DROP INDEX IF EXISTS backup_jobs_agent_night;
                    """)
        }
        migrator.registerMigration("backups-v8-no-customer-index") { db in
            // A customer's recent runs are its agents' newest runs merged (through the natural key): the index keyed by
            // customer took a random B-tree page on every recorded run, a fifth of the service's write-ahead log.
            try db.execute(sql: "DROP INDEX IF EXISTS backup_jobs_customer")
        }
        return migrator
    }
}
