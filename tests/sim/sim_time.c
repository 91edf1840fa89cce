#include "sim_time.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DAY_MS 86400000LL

/* Howard Hinnant's days_from_civil / civil_from_days: proleptic Gregorian,
 * no libc timezone state. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t era;
    unsigned doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    *y = (int64_t)yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y += *m <= 2;
}

static void split(int64_t ms, int64_t *y, unsigned *mo, unsigned *d, int *h, int *mi, int *s,
                  int *milli, int *wday)
{
    int64_t days = ms / DAY_MS;
    int64_t rem = ms % DAY_MS;

    if (rem < 0) {
        rem += DAY_MS;
        days--;
    }
    civil_from_days(days, y, mo, d);
    *h = (int)(rem / 3600000);
    *mi = (int)(rem / 60000 % 60);
    *s = (int)(rem / 1000 % 60);
    *milli = (int)(rem % 1000);
    *wday = (int)((days % 7 + 11) % 7); /* 1970-01-01 was a Thursday (4) */
}

const char *sim_time_format(int64_t ms, char *buf, size_t bufsize)
{
    int64_t y;
    unsigned mo, d;
    int h, mi, s, milli, wday;

    split(ms, &y, &mo, &d, &h, &mi, &s, &milli, &wday);
    snprintf(buf, bufsize, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ", (long long)y, mo, d, h, mi, s,
             milli);
    return buf;
}

const char *sim_time_http_date(int64_t ms, char *buf, size_t bufsize)
{
    static const char *const wdays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    int64_t y;
    unsigned mo, d;
    int h, mi, s, milli, wday;

    split(ms, &y, &mo, &d, &h, &mi, &s, &milli, &wday);
    snprintf(buf, bufsize, "%s, %02u %s %04lld %02d:%02d:%02d GMT", wdays[wday], d, months[mo - 1],
             (long long)y, h, mi, s);
    return buf;
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int sim_time_parse(const char *s, int64_t *ms)
{
    int y, mo, d, h = 0, mi = 0, sec = 0, frac = 0;
    int64_t off = 0;
    const char *p;
    size_t len = strlen(s);
    size_t i;

    for (i = 0; i < len && isdigit((unsigned char)s[i]); i++)
        ;
    if (len > 0 && i == len) {
        char *end;
        long long v = strtoll(s, &end, 10);

        if (*end != '\0')
            return -1;
        *ms = v;
        return 0;
    }
    if (len < 10 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
        digits(s + 8, 2, &d) || mo < 1 || mo > 12 || d < 1 || d > 31)
        return -1;
    p = s + 10;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        if (digits(p + 1, 2, &h) || p[3] != ':' || digits(p + 4, 2, &mi) || p[6] != ':' ||
            digits(p + 7, 2, &sec) || h > 23 || mi > 59 || sec > 60)
            return -1;
        p += 9;
        if (*p == '.') {
            int n = 0;

            p++;
            while (isdigit((unsigned char)*p)) {
                if (n < 3)
                    frac = frac * 10 + (*p - '0');
                n++;
                p++;
            }
            if (n == 0)
                return -1;
            for (; n < 3; n++)
                frac *= 10;
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int oh, om;

            if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om))
                return -1;
            off = (int64_t)(oh * 60 + om) * 60000 * (*p == '-' ? -1 : 1);
            p += 6;
        } else {
            return -1;
        }
    }
    if (*p != '\0')
        return -1;
    *ms = days_from_civil(y, (unsigned)mo, (unsigned)d) * DAY_MS + h * 3600000LL + mi * 60000LL +
          sec * 1000LL + frac - off;
    return 0;
}

int64_t sim_time_wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
