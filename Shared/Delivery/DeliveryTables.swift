import Foundation
import GRDB
import VectisContracts

/// The tables reliable delivery keeps in each service's own database.
///
/// - `bus_outbox`: events committed with the state change that caused them, in commit order (`id`), numbered
///   per topic (`seq`). Rows stay after sending so replays can be answered, until retention prunes them.
/// - `bus_outbox_sequence`: the last seq given out per topic; survives pruning, so numbering never restarts.
/// - `bus_outbox_state`: how far the relay has sent (`sent_through` is an outbox id).
/// - `bus_cursor`: per (stream, topic) consumed, the last seq applied — written in the same transaction as
///   the apply, which is what makes the effect exactly-once.
/// - `bus_dead_letter`: messages whose handler failed, kept with the error instead of blocking the stream.
/// - `bus_outbox_epoch`: this service's stream epoch, a random id made with the sequence table (a lost or
///   replaced database gets a new one, which tells consumers the numbering started again).
/// - `bus_stream_epoch`: per stream consumed, the epoch its cursors belong to, and the epochs seen retired.
/// - `bus_applied_fact`: natural keys of facts already acted on (`AppliedFacts`), the guard across epochs, in the
///   order of the facts' own time.
public enum DeliveryTables {
    public static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("delivery-v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE bus_outbox (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        topic TEXT NOT NULL,
                        seq INTEGER NOT NULL,
                        header BLOB NOT NULL,
                        body BLOB NOT NULL,
                        created_at DOUBLE NOT NULL,
                        UNIQUE (topic, seq)
                    );
                    CREATE TABLE bus_outbox_sequence (
                        topic TEXT PRIMARY KEY NOT NULL,
                        last_seq INTEGER NOT NULL
                    );
                    CREATE TABLE bus_outbox_state (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        sent_through INTEGER NOT NULL
                    );
                    INSERT INTO bus_outbox_state (id, sent_through) VALUES (1, 0);
                    CREATE TABLE bus_cursor (
                        stream TEXT NOT NULL,
                        topic TEXT NOT NULL,
                        last_applied INTEGER NOT NULL,
                        updated_at DOUBLE NOT NULL,
                        PRIMARY KEY (stream, topic)
                    );
                    CREATE TABLE bus_dead_letter (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        stream TEXT NOT NULL,
                        topic TEXT NOT NULL,
                        seq INTEGER NOT NULL,
                        header BLOB NOT NULL,
                        body BLOB NOT NULL,
                        error TEXT NOT NULL,
                        failed_at DOUBLE NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("delivery-v2-epochs") { db in
            try db.execute(
                sql: """
                    CREATE TABLE bus_outbox_epoch (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        epoch TEXT NOT NULL,
                        created_at DOUBLE NOT NULL
                    );
                    CREATE TABLE bus_stream_epoch (
                        stream TEXT PRIMARY KEY NOT NULL,
                        epoch TEXT NOT NULL,
                        retired TEXT NOT NULL DEFAULT '',
                        updated_at DOUBLE NOT NULL
                    );
                    ALTER TABLE bus_dead_letter ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1;
                    """)
            try db.execute(
                sql: "INSERT INTO bus_outbox_epoch (id, epoch, created_at) VALUES (1, ?, ?)",
                arguments: [StreamEpoch.make(), Date().timeIntervalSince1970])
        }
        migrator.registerMigration("delivery-v3-applied-facts") { db in
            try db.execute(
                sql: """
                    CREATE TABLE bus_applied_fact (
                        kind TEXT NOT NULL,
                        key TEXT NOT NULL,
                        at DOUBLE NOT NULL,
                        PRIMARY KEY (kind, key)
                    ) WITHOUT ROWID;
                    CREATE INDEX bus_applied_fact_age ON bus_applied_fact (at);
                    """)
        }
        migrator.registerMigration("delivery-v4-applied-facts-in-time-order") { db in
            // Keyed by agent, each applied run took a page of its own in the log, and its time index another: half of
            // the alerts service's log, 40% of the rules service's. Ordered by the fact's own time, a poll's
            // facts share the table's last pages, and pruning reads from its start without an index.
            try db.execute(
                sql: """
                    CREATE TABLE bus_applied_fact_v4 (
                        at_ms INTEGER NOT NULL,
                        kind TEXT NOT NULL,
                        key TEXT NOT NULL,
                        PRIMARY KEY (at_ms, kind, key)
                    ) WITHOUT ROWID
                    """)
            // Each earlier fact's time as `firstTime` computes it now, through the same Swift function. A damaged row
            // (no time) is left behind rather than stopping the service's start: it guards one fact.
            let time = DatabaseFunction("vectis_applied_fact_time", argumentCount: 3, pure: true) { values in
                guard let kind = String.fromDatabaseValue(values[0]), let key = String.fromDatabaseValue(values[1]),
                    let at = Double.fromDatabaseValue(values[2])
                else { return nil }
                return AppliedFacts.time(ofStored: kind, key: key, at: at)
            }
            db.add(function: time)
            defer { db.remove(function: time) }
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO bus_applied_fact_v4 (at_ms, kind, key)
                    SELECT vectis_applied_fact_time(kind, key, at), kind, key FROM bus_applied_fact
                    """)
            try db.execute(sql: "DROP TABLE bus_applied_fact; ALTER TABLE bus_applied_fact_v4 RENAME TO bus_applied_fact")
        }
    }
}
