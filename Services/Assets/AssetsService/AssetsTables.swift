import GRDB
import VectisDelivery

/// The assets service's tables: customers, devices, agents (and shares), each per tenant.
enum AssetsTables {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        DeliveryTables.register(in: &migrator)
        migrator.registerMigration("assets-v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE customer (
                        id TEXT PRIMARY KEY NOT NULL,
                        tenant TEXT NOT NULL,
                        key TEXT NOT NULL,
                        name TEXT NOT NULL,
                        first_seen_at DOUBLE NOT NULL,
                        updated_at DOUBLE NOT NULL,
                        UNIQUE (tenant, key)
                    );
                    CREATE TABLE device (
                        tenant TEXT NOT NULL,
                        serial_number TEXT NOT NULL,
                        customer_id TEXT NOT NULL REFERENCES customer (id),
                        name TEXT NOT NULL,
                        model TEXT,
                        last_seen_at DOUBLE,
                        local_used_bytes INTEGER,
                        local_available_bytes INTEGER,
                        offsite_used_bytes INTEGER,
                        remote_web_url TEXT,
                        internal_ip TEXT,
                        hidden BOOLEAN NOT NULL,
                        first_seen_at DOUBLE NOT NULL,
                        updated_at DOUBLE NOT NULL,
                        PRIMARY KEY (tenant, serial_number)
                    );
                    CREATE INDEX device_customer ON device (customer_id);
                    CREATE TABLE agent (
                        id TEXT PRIMARY KEY NOT NULL,
                        tenant TEXT NOT NULL,
                        device_serial TEXT NOT NULL,
                        volume TEXT NOT NULL,
                        customer_id TEXT NOT NULL,
                        name TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        os TEXT,
                        ip_address TEXT,
                        agent_version TEXT,
                        is_paused BOOLEAN NOT NULL,
                        is_archived BOOLEAN NOT NULL,
                        last_snapshot_at DOUBLE,
                        latest_offsite_at DOUBLE,
                        last_screenshot_at DOUBLE,
                        last_screenshot_ok BOOLEAN,
                        removed_at DOUBLE,
                        first_seen_at DOUBLE NOT NULL,
                        updated_at DOUBLE NOT NULL,
                        UNIQUE (tenant, device_serial, volume)
                    );
                    CREATE INDEX agent_customer ON agent (customer_id);
                    -- The newest run seen per agent, kept apart from `agent` so a run that arrives first still counts.
                    CREATE TABLE agent_last_run (
                        agent_id TEXT PRIMARY KEY NOT NULL,
                        run_at DOUBLE NOT NULL,
                        failed BOOLEAN NOT NULL
                    );
                    """)
        }
        return migrator
    }
}
