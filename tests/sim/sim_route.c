/* Path matching for flavour route tables (pure, unit-tested). */
#include <string.h>

#include "sim.h"

static const struct sim_version_family *find_family(const struct sim_version_family *families,
                                                    const char *name, size_t len)
{
    for (const struct sim_version_family *f = families; f != NULL && f->family != NULL; f++) {
        if (strlen(f->family) == len && strncmp(f->family, name, len) == 0)
            return f;
    }
    return NULL;
}

static int version_ok(const struct sim_version_family *fam, const char *seg, size_t len)
{
    for (const char *const *v = fam->accepted; *v != NULL; v++) {
        if (strlen(*v) == len && strncmp(*v, seg, len) == 0)
            return 1;
    }
    return 0;
}

#define MAX_SEGS 16

int sim_route_match(const char *pattern, const char *path,
                    const struct sim_version_family *families, char *buf, size_t bufsize,
                    const char **caps, size_t *ncaps)
{
    char *segs[MAX_SEGS];
    size_t nsegs = 0;
    size_t plen = strlen(path);
    const char *p = pattern;
    char *q;

    *ncaps = 0;
    /* A trailing slash is not significant ("/crm/lists/2026-09/"). */
    while (plen > 1 && path[plen - 1] == '/')
        plen--;
    if (plen + 1 > bufsize || path[0] != '/' || pattern[0] != '/')
        return 0;
    memcpy(buf, path, plen);
    buf[plen] = '\0';
    /* Split the copy into NUL-terminated segments; captures point at them. */
    q = buf;
    while (*q == '/') {
        if (nsegs == MAX_SEGS)
            return 0;
        *q = '\0';
        segs[nsegs++] = q + 1;
        q = strchr(q + 1, '/');
        if (q == NULL)
            break;
    }
    for (size_t i = 0; i < nsegs; i++) {
        const char *pseg;
        size_t len;

        if (*p != '/')
            return 0;
        pseg = p + 1;
        len = strcspn(pseg, "/");
        if (len == 1 && pseg[0] == '*') {
            if (segs[i][0] == '\0' || *ncaps == SIM_MAX_CAPS)
                return 0;
            caps[(*ncaps)++] = segs[i];
        } else if (len > 1 && pseg[0] == '@') {
            const struct sim_version_family *fam = find_family(families, pseg + 1, len - 1);

            if (fam == NULL || !version_ok(fam, segs[i], strlen(segs[i])))
                return 0;
        } else if (strlen(segs[i]) != len || strncmp(pseg, segs[i], len) != 0) {
            return 0;
        }
        p = pseg + len;
    }
    return *p == '\0';
}
