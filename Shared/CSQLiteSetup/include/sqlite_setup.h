#ifndef VECTIS_SQLITE_SETUP_H
#define VECTIS_SQLITE_SETUP_H

/// Sets SQLite's process-wide options for connections each used by one thread at a time (GRDB's model): no mutex on
/// every call into a connection, no memory statistics (a global mutex on every allocation). Effective only before
/// SQLite initializes (the first connection opened); returns 1 when both took effect, 0 otherwise (nothing changed).
/// `sqlite3_config` is variadic, which Swift cannot call: hence this file.
int vectis_sqlite_use_multithread_mode(void);

#endif
