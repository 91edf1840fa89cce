/* Writes the ingest benchmark's spool file: N events over M members as JSON
 * lines (docs/spool-format.md), deterministic for a given seed. Prints
 * "events=<n> changes=<c>" on stdout so the driver knows how many canonical
 * changes the daemon will apply.
 *
 *   bench_ingest_gen [-f first] [-n events] [-m members] [-s seed] -o FILE
 *
 * -f: the number of the first event (default 0), so that a soak can write
 * the stream in slices (bench/retention.sh) with event ids that never repeat.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench_events.h"
#include "timefmt.h"

static void write_event(FILE *f, const struct bench_event *e, const char *member)
{
    char at[40], exp[40], val[64];

    timefmt_format_rfc3339(e->at_ms, at, sizeof(at));
    fprintf(f,
            "{\"event_id\":\"e%" PRIu64
            "\",\"type\":\"%s\",\"member\":\"%s\",\"occurred_at\":\"%s\"",
            e->index,
            e->type == BENCH_CONSENT   ? "consent"
            : e->type == BENCH_POINTS  ? "points"
            : e->type == BENCH_SEGMENT ? "segment"
            : e->type == BENCH_PROFILE ? "profile"
                                       : "erasure",
            member, at);
    switch (e->type) {
    case BENCH_CONSENT:
        fprintf(f, ",\"purpose\":\"%s\",\"channel\":\"%s\",\"status\":\"%s\",\"source\":\"%s\"",
                bench_purposes[e->purpose], bench_channels[e->channel],
                e->denied ? "denied" : "granted", bench_sources[e->source]);
        if (!e->denied)
            fprintf(f, ",\"legal_basis\":\"consent\",\"proof\":\"form-%" PRIu64 "\"", e->index);
        break;
    case BENCH_POINTS:
        fprintf(f, ",\"txn_id\":\"T%" PRIu64 "\",\"delta\":%" PRId64 ",\"reason\":\"%s\"", e->index,
                e->delta, e->redeem ? "redeem" : "earn");
        if (e->expires_ms != 0)
            fprintf(f, ",\"expires_at\":\"%s\"",
                    timefmt_format_rfc3339(e->expires_ms, exp, sizeof(exp)));
        break;
    case BENCH_SEGMENT:
        fprintf(f, ",\"segment\":\"%s\",\"status\":\"%s\"", bench_segments[e->segment],
                e->seg_in ? "in" : "out");
        break;
    case BENCH_PROFILE:
        fputs(",\"attributes\":{", f);
        for (int k = 0; k < e->n_attrs; k++) {
            const char *v = bench_attr_value(e, k, val, sizeof(val));
            fprintf(f, "%s\"%s\":", k ? "," : "", bench_attrs[e->attr[k]]);
            if (v == NULL)
                fputs("null", f);
            else
                fprintf(f, "\"%s\"", v);
        }
        fputc('}', f);
        break;
    case BENCH_ERASURE:
        break;
    }
    fputs("}\n", f);
}

int main(int argc, char **argv)
{
    uint64_t n = 1000000, seed = 42, changes = 0, first = 0;
    uint32_t members = 200000;
    const char *out = NULL;
    FILE *f;
    int opt;

    for (;;) {
        opt = getopt(argc, argv, "f:n:m:s:o:");
        if (opt == -1)
            break;
        switch (opt) {
        case 'f':
            first = strtoull(optarg, NULL, 10);
            break;
        case 'n':
            n = strtoull(optarg, NULL, 10);
            break;
        case 'm':
            members = (uint32_t)strtoul(optarg, NULL, 10);
            break;
        case 's':
            seed = strtoull(optarg, NULL, 10);
            break;
        case 'o':
            out = optarg;
            break;
        default:
            fprintf(stderr, "usage: %s [-f first] [-n events] [-m members] [-s seed] -o FILE\n",
                    argv[0]);
            return 2;
        }
    }
    if (out == NULL || members == 0) {
        fprintf(stderr, "usage: %s [-f first] [-n events] [-m members] [-s seed] -o FILE\n",
                argv[0]);
        return 2;
    }
    f = fopen(out, "w");
    if (f == NULL) {
        perror(out);
        return 1;
    }
    for (uint64_t i = first; i < first + n; i++) {
        struct bench_event e;
        char member[16];

        bench_event_make(seed, i, members, &e);
        snprintf(member, sizeof(member), "M%06" PRIu32, e.member);
        write_event(f, &e, member);
        changes += (uint64_t)bench_event_changes(&e);
    }
    if (fclose(f) != 0) {
        perror(out);
        return 1;
    }
    printf("events=%" PRIu64 " changes=%" PRIu64 "\n", n, changes);
    return 0;
}
