import GRDB

/// The tables reliable delivery keeps in each service's own database.
///
/// - `bus_outbox`: events committed with the state change that caused them, in commit order (`id`), numbered
///   per topic (`seq`). Rows stay after sending so replays can be answered, until retention prunes them.
/// - `bus_outbox_sequence`: the last seq given out per topic; survives pruning, so numbering never restarts.
/// - `bus_outbox_state`: how far the relay has sent (`sent_through` is an outbox id).
/// - `bus_cursor`: per (stream, topic) consumed, the last seq applied — written in the same transaction as
///   the apply, which is what makes the effect exactly-once.
/// - `bus_dead_letter`: messages whose handler failed, kept with the error instead of blocking the stream.
public enum DeliveryTables {
    public static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("delivery-v1") { db in
            try db.execute(sql: """
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
    }
}
