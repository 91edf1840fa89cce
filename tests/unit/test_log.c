/* Logs must never show a full email address or phone number. */
#include "cmocka_setup.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "log_journal.h"

static void mask_email_keeps_first_char_and_domain(void **state)
{
    char buf[64];
    (void)state;
    assert_string_equal(log_mask("jane.doe@example.com", buf, sizeof(buf)), "j***@example.com");
}

static void mask_phone_keeps_only_ends(void **state)
{
    char buf[64];
    (void)state;
    assert_string_equal(log_mask("+33612345678", buf, sizeof(buf)), "+3***78");
    assert_string_equal(log_mask("1234", buf, sizeof(buf)), "***");
}

/* Vendor texts: every address inside a free text is masked (issue 14 item
 * 9: a CRM rejecting "not valid@example.org" put the whole address in the
 * log and in the dead-letter reason). */
static void emails_inside_a_text_are_masked(void **state)
{
    char buf[256];
    (void)state;
    assert_string_equal(log_mask_emails("Property values were not valid: not valid@example.org is "
                                        "invalid",
                                        buf, sizeof(buf)),
                        "Property values were not valid: not v***@example.org is invalid");
    assert_string_equal(
        log_mask_emails("a@b.c, <jane.doe+x@example.com>; (bo@ex.org)", buf, sizeof(buf)),
        "a***@b.c, <j***@example.com>; (b***@ex.org)");
    assert_string_equal(log_mask_emails("{\"email\":\"ann@example.com\"}", buf, sizeof(buf)),
                        "{\"email\":\"a***@example.com\"}");
    assert_string_equal(log_mask_emails("\"not valid\"@example.org", buf, sizeof(buf)),
                        "\"n***\"@example.org");
    /* Not addresses: left alone. */
    assert_string_equal(log_mask_emails("@home, x@, 50 @ 3, user@ host", buf, sizeof(buf)),
                        "@home, x@, 50 @ 3, user@ host");
    assert_string_equal(log_mask_emails("no address here", buf, sizeof(buf)), "no address here");
    /* Bounded: truncated, never overrun, never the whole address. */
    assert_string_equal(log_mask_emails("xx jane@example.com", buf, 8), "xx j***");
    assert_string_equal(log_mask_emails(NULL, buf, sizeof(buf)), "");
}

/* Every log line goes through it, whatever the caller passed. */
static void log_lines_mask_emails(void **state)
{
    char path[] = "/tmp/test_log.XXXXXX";
    char text[512] = "";
    int fd = mkstemp(path);
    int saved = dup(2);
    FILE *f;
    (void)state;
    assert_true(fd >= 0 && saved >= 0);
    fflush(stderr);
    dup2(fd, 2);
    log_warn("hubspot", "hs", "HTTP 400: Property values were not valid: %s",
             "INVALID_EMAIL not valid@example.org");
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    f = fdopen(fd, "r");
    rewind(f);
    assert_non_null(fgets(text, sizeof(text), f));
    fclose(f);
    unlink(path);
    assert_null(strstr(text, "valid@example.org"));
    assert_non_null(strstr(text, "not v***@example.org"));
}

/* Issue 19: the text an operator reads names no C function. */
static void stderr_lines_name_no_function(void **state)
{
    char path[] = "/tmp/test_log.XXXXXX";
    char text[512] = "";
    int fd = mkstemp(path);
    int saved = dup(2);
    FILE *f;
    (void)state;
    assert_true(fd >= 0 && saved >= 0);
    fflush(stderr);
    dup2(fd, 2);
    log_error("engine", "hs", "destination unreachable");
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    f = fdopen(fd, "r");
    rewind(f);
    assert_non_null(fgets(text, sizeof(text), f));
    fclose(f);
    unlink(path);
    assert_string_equal(text, "<3>engine[hs]: destination unreachable\n");
}

/* Under journald: one datagram per line with the structured fields, the
 * function among them (journalctl -o verbose), not in MESSAGE. */
static void journald_gets_structured_fields(void **state)
{
    char dir[] = "/tmp/test_log_journal.XXXXXX";
    char sock_path[200], entry[4096];
    struct sockaddr_un a;
    ssize_t n;
    int s;
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(sock_path, sizeof(sock_path), "%s/socket", dir);
    s = socket(AF_UNIX, SOCK_DGRAM, 0);
    assert_true(s >= 0);
    memset(&a, 0, sizeof(a));
    a.sun_family = AF_UNIX;
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock_path);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);

    log_journal_override(sock_path);
    log_warn("hubspot", "hs", "pull: search failed (HTTP 503 for %s)", "ann@example.com");
    log_journal_override(NULL);
    n = recv(s, entry, sizeof(entry) - 1, MSG_DONTWAIT);
    close(s);
    unlink(sock_path);
    rmdir(dir);
    assert_true(n > 0);
    entry[n] = '\0';
    assert_non_null(strstr(entry, "MESSAGE=hubspot[hs]: pull: search failed (HTTP 503 for "
                                  "a***@example.com)\n"));
    assert_non_null(strstr(entry, "\nPRIORITY=4\n"));
    assert_non_null(strstr(entry, "\nSYSLOG_IDENTIFIER=crmsyncd\n"));
    assert_non_null(strstr(entry, "\nCODE_FUNC=journald_gets_structured_fields\n"));
    assert_non_null(strstr(entry, "test_log.c\nCODE_LINE="));
    assert_non_null(strstr(entry, "\nCRMSYNC_SUBSYSTEM=hubspot\n"));
    assert_non_null(strstr(entry, "\nCRMSYNC_CONNECTOR=hs\n"));
    assert_null(strstr(entry, "journald_gets_structured_fields()"));
    assert_null(strstr(entry, "CRMSYNC_MEMBER="));
}

/* A line about one member's change (a dead letter) carries the member key
 * and the seq as fields: journalctl CRMSYNC_MEMBER=KEY (issue 19). */
static void journald_gets_member_and_seq(void **state)
{
    char dir[] = "/tmp/test_log_journal.XXXXXX";
    char sock_path[200], entry[4096];
    struct sockaddr_un a;
    ssize_t n;
    int s;
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(sock_path, sizeof(sock_path), "%s/socket", dir);
    s = socket(AF_UNIX, SOCK_DGRAM, 0);
    assert_true(s >= 0);
    memset(&a, 0, sizeof(a));
    a.sun_family = AF_UNIX;
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock_path);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);

    log_journal_override(sock_path);
    log_warn_member("engine", "hs", "LOY-0042", 9000000001LL,
                    "member %s seq %d profile/email: dead letter: %s", "LOY-0042", 5, "refused");
    log_journal_override(NULL);
    n = recv(s, entry, sizeof(entry) - 1, MSG_DONTWAIT);
    close(s);
    unlink(sock_path);
    rmdir(dir);
    assert_true(n > 0);
    entry[n] = '\0';
    assert_non_null(strstr(entry, "\nCRMSYNC_MEMBER=LOY-0042\n"));
    assert_non_null(strstr(entry, "\nCRMSYNC_SEQ=9000000001\n"));
    assert_non_null(strstr(entry, "\nCRMSYNC_CONNECTOR=hs\n"));
    assert_non_null(strstr(entry, "\nCODE_FUNC=journald_gets_member_and_seq\n"));
}

static void level_names_parse(void **state)
{
    enum log_level l;
    (void)state;
    assert_int_equal(log_level_parse("warning", &l), 0);
    assert_int_equal(l, LOG_LVL_WARNING);
    assert_int_equal(log_level_parse("loud", &l), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mask_email_keeps_first_char_and_domain),
        cmocka_unit_test(mask_phone_keeps_only_ends),
        cmocka_unit_test(emails_inside_a_text_are_masked),
        cmocka_unit_test(log_lines_mask_emails),
        cmocka_unit_test(stderr_lines_name_no_function),
        cmocka_unit_test(journald_gets_structured_fields),
        cmocka_unit_test(journald_gets_member_and_seq),
        cmocka_unit_test(level_names_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
