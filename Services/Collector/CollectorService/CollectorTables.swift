import GRDB
import VectisDelivery

/// The collector's own tables, beside the delivery tables every service has.
enum CollectorTables {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        DeliveryTables.register(in: &migrator)
        migrator.registerMigration("collector-v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE datto_integration (
                        tenant TEXT PRIMARY KEY NOT NULL,
                        public_key TEXT NOT NULL,
                        secret_sealed BLOB NOT NULL,
                        region TEXT NOT NULL,
                        is_default BOOLEAN NOT NULL DEFAULT 0,
                        status TEXT NOT NULL,
                        last_sync_id TEXT,
                        last_sync_started_at DOUBLE,
                        last_sync_at DOUBLE,
                        last_error TEXT,
                        last_error_kind TEXT,
                        devices INTEGER,
                        agents INTEGER,
                        runs_observed INTEGER,
                        requests INTEGER,
                        created_at DOUBLE NOT NULL,
                        updated_at DOUBLE NOT NULL
                    );
                    -- Every run already published, by its natural key: re-polls of the same ~10 runs publish nothing.
                    CREATE TABLE observed_run (
                        tenant TEXT NOT NULL,
                        serial_number TEXT NOT NULL,
                        volume TEXT NOT NULL,
                        run_at DOUBLE NOT NULL,
                        observed_at DOUBLE NOT NULL,
                        PRIMARY KEY (tenant, serial_number, volume, run_at)
                    ) WITHOUT ROWID;
                    CREATE INDEX observed_run_age ON observed_run (observed_at);
                    """)
        }
        migrator.registerMigration("collector-v2-retries") { db in
            try db.execute(
                sql: """
                    CREATE TABLE retry_request (
                        retry_id TEXT PRIMARY KEY NOT NULL,
                        tenant TEXT NOT NULL,
                        device_serial TEXT NOT NULL,
                        agent_volume TEXT NOT NULL,
                        reason TEXT NOT NULL,
                        requested_by TEXT NOT NULL,
                        state TEXT NOT NULL CHECK (state IN ('pending', 'done')),
                        created_at DOUBLE NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("collector-v3-device-schedule") { db in
            // When each device should next be read (see PollPlanner): Datto time, epoch seconds.
            try db.execute(
                sql: """
                    CREATE TABLE device_schedule (
                        tenant TEXT NOT NULL,
                        serial_number TEXT NOT NULL,
                        last_read_at DOUBLE NOT NULL,
                        next_due_at DOUBLE NOT NULL,
                        failing BOOLEAN NOT NULL,
                        PRIMARY KEY (tenant, serial_number)
                    ) WITHOUT ROWID;
                    """)
        }
        migrator.registerMigration("collector-v4-agent-state") { db in
            // Whether each agent's newest run failed, as last read: a retry is honoured only for a failing agent.
            try db.execute(
                sql: """
                    CREATE TABLE agent_state (
                        tenant TEXT NOT NULL,
                        serial_number TEXT NOT NULL,
                        volume TEXT NOT NULL,
                        failing BOOLEAN NOT NULL,
                        read_at DOUBLE NOT NULL,
                        PRIMARY KEY (tenant, serial_number, volume)
                    ) WITHOUT ROWID;
                    CREATE INDEX retry_request_agent ON retry_request (tenant, device_serial, agent_volume, created_at);
                    """)
        }
        migrator.registerMigration("collector-v5-device-alerts") { db in
            // How many of Datto's own alerts each device had when last read: an appliance whose `alertCount` fell to
            // 0 has its alerts cleared without a request, and the least recently read go first.
            try db.execute(
                sql: """
                    CREATE TABLE device_alerts (
                        tenant TEXT NOT NULL,
                        serial_number TEXT NOT NULL,
                        count INTEGER NOT NULL,
                        read_at DOUBLE NOT NULL,
                        PRIMARY KEY (tenant, serial_number)
                    ) WITHOUT ROWID;
                    """)
        }
        migrator.registerMigration("collector-v6-saas-status") { db in
            // What the latest sync said about SaaS Protection: its counts, or that the key has no SaaS scope.
            try db.execute(
                sql: """
                    ALTER TABLE datto_integration ADD COLUMN saas_status TEXT;
                    -- How many SaaS domains the key had when last read: what a budgeted poll sets aside for them.
                    CREATE TABLE saas_state (tenant TEXT PRIMARY KEY NOT NULL, domains INTEGER NOT NULL, read_at DOUBLE NOT NULL);
                    """)
        }
        migrator.registerMigration("collector-v7-endpoint-state") { db in
            // How many Endpoint Backup agents the key had when last read: the pages a budgeted poll sets aside for them
            // (SaaS used to take everything the devices left, so endpoints were never read again after the first sync).
            // And where the next scheduled poll goes on through the SaaS domains, so each comes round in turn.
            try db.execute(
                sql: """
                    CREATE TABLE endpoint_state (tenant TEXT PRIMARY KEY NOT NULL, endpoints INTEGER NOT NULL, read_at DOUBLE NOT NULL);
                    ALTER TABLE saas_state ADD COLUMN next_domain INTEGER NOT NULL DEFAULT 0;
                    """)
        }
        return migrator
    }
}
