import GRDB
import VectisDelivery

/// The alerts feed: one row per problem (not per failure), and the mutes in force.
enum AlertsTables {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        DeliveryTables.register(in: &migrator)
        migrator.registerMigration("alerts-v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE alert (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        tenant TEXT NOT NULL,
                        type TEXT NOT NULL,
                        severity TEXT NOT NULL,
                        state TEXT NOT NULL CHECK (state IN ('open', 'acknowledged', 'muted', 'resolved')),
                        agent_id TEXT NOT NULL,
                        customer_id TEXT NOT NULL,
                        customer_key TEXT NOT NULL,
                        customer_name TEXT NOT NULL,
                        device_serial TEXT NOT NULL,
                        agent_volume TEXT NOT NULL,
                        agent_name TEXT NOT NULL,
                        occurrences INTEGER NOT NULL,
                        first_seen_at DOUBLE NOT NULL,
                        last_seen_at DOUBLE NOT NULL,
                        last_error TEXT,
                        failed_nights INTEGER,
                        -- Whether alert.raised went out: a condition muted from the start raises nothing.
                        raised BOOLEAN NOT NULL,
                        acknowledged_at DOUBLE,
                        acknowledged_by TEXT,
                        resolved_at DOUBLE,
                        resolved_reason TEXT,
                        resolved_by TEXT,
                        updated_at DOUBLE NOT NULL
                    );
                    -- One alert per problem: at most one unresolved alert per agent and type.
                    CREATE UNIQUE INDEX alert_one_open ON alert (tenant, type, agent_id) WHERE state != 'resolved';
                    CREATE INDEX alert_customer ON alert (customer_id, id);
                    CREATE TABLE mute (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        scope TEXT NOT NULL CHECK (scope IN ('agent', 'customer')),
                        target_id TEXT NOT NULL,
                        until DOUBLE NOT NULL,
                        reason TEXT,
                        created_by TEXT,
                        created_at DOUBLE NOT NULL
                    );
                    CREATE INDEX mute_target ON mute (target_id, until);
                    """)
        }
        migrator.registerMigration("alerts-v2-notes") { db in
            try db.execute(sql: "ALTER TABLE alert ADD COLUMN note TEXT")
        }
        migrator.registerMigration("alerts-v3-silence") { db in
            // Silent failures: `agent_id` names the subject (an agent, or the appliance `d_…` for device-offline,
            // with an empty volume); when the condition's clock started and how many days it has lasted.
            try db.execute(
                sql: """
                    ALTER TABLE alert ADD COLUMN device_name TEXT;
                    ALTER TABLE alert ADD COLUMN since DOUBLE;
                    ALTER TABLE alert ADD COLUMN days INTEGER;
                    """)
        }
        migrator.registerMigration("alerts-v4-subject-index") { db in
            // A rule's remark names the subject, and not always the alert type: without this, putting it on the
            // alert scanned every unresolved alert of the tenant (a third of the service's time on the pipeline).
            try db.execute(sql: "CREATE INDEX alert_subject_unresolved ON alert (tenant, agent_id) WHERE state != 'resolved'")
        }
        return migrator
    }
}
