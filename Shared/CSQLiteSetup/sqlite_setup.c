#include <sqlite3.h>
#include "sqlite_setup.h"

int vectis_sqlite_use_multithread_mode(void) {
    if (sqlite3_config(SQLITE_CONFIG_MULTITHREAD) != SQLITE_OK) return 0;
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK;
}
