/* A configuration file (INI, every connector type's options) through
 * config_load(), from a temporary file as the daemon reads it. */
#include <stdio.h>
#include <unistd.h>

#include "config.h"
#include "connector.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    struct config *cfg = NULL;
    struct error err = {""};
    FILE *f;

    if (path[0] == '\0')
        snprintf(path, sizeof(path), "/tmp/fuzz_config.%ld.conf", (long)getpid());
    f = fopen(path, "we");
    if (f == NULL)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    if (config_load(path, connector_config_lookup, &cfg, &err) == 0)
        config_free(cfg);
    unlink(path);
    return 0;
}
