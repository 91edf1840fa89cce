#!/usr/bin/env bash
# Salesforce Bulk API 2.0 push (docs/salesforce.md "Bulk"): a batch of at
# least bulk_threshold Contact rows goes as ONE upsert job (created with its
# CSV in one multipart request, then poll, results; the three-step create,
# upload, UploadComplete is salesforce_bulk_failed.sh's); a failed row is dead-lettered with
# its sf__Error code while the other rows are applied; fields with commas,
# quotes and newlines survive the CSV; a new Contact without a last name is
# resent by collections with the placeholder; the session expires while the
# job runs (the poll gets a 401, a new session is minted, the same job goes
# on); only the result lists the job info counts rows for are read; a
# batch under the threshold goes by collections.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/salesforce.sh"

sf_sim_start --sf-bulk-delay-ms 1500
sf_config "bulk_threshold = 8"
start_daemon
{
  for i in $(seq 1 9); do
    printf '{"event_id":"p%d","type":"profile","member":"B%d","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"b%d@example.com","last_name":"Lee %d"}}\n' "$i" "$i" "$i" "$i"
  done
  # CSV quoting: a comma, a quote and a newline in one value.
  printf '{"event_id":"p10","type":"profile","member":"B10","occurred_at":"2026-11-01T09:00:00Z","attributes":{"first_name":"Ann, \\"Nan\\"\\nB","last_name":"O, Neil"}}\n'
  # Not an email address: the row fails in the job.
  printf '{"event_id":"p11","type":"profile","member":"B11","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"not-an-email","last_name":"Bad"}}\n'
  # No last name: LastName is required on create.
  printf '{"event_id":"p12","type":"profile","member":"B12","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"b12@example.com"}}\n'
} >"$T/a.jsonl.src"
drop a.jsonl

# Salesforce's side of the job (its rows are counted once it has run).
job() { sim_get state | jq -r --arg k "$1" '.flavor_state.jobs[-1][$k] // empty'; }
bulk_closed() { [ "$(job object)" = Contact ] && [ -n "$(job state)" ] && [ "$(job state)" != Open ]; }
wait_for 60 bulk_closed || fail "no Bulk job for the Contacts uploaded and closed"
# The job is processed 1.5 s after UploadComplete: expire the session now.
tokens_before=$(sim_get counters | jq -r '.endpoints["oauth.token"].requests // 0')
sim_post tokens/expire '{}'

wait_for 60 is_eq b9@example.com contact_field B9 Email || fail "B9 not written by the job"
assert_eq "$(contact_field B10 FirstName)" "$(printf 'Ann, "Nan"\nB')" "comma, quote and newline survive the CSV"
assert_eq "$(contact_field B10 LastName)" "O, Neil" "quoted LastName"
dl_reason() { sql "SELECT last_error FROM dead_letters WHERE destination = 'sf' AND member_key = 'B11'" | head -n 1; }
dl_has() { dl_reason | grep -q INVALID_EMAIL_ADDRESS; }
wait_for 30 dl_has || fail "B11's failed row not dead-lettered with its sf__Error (got '$(dl_reason)')"
pass "a failed row is dead-lettered: $(dl_reason)"
wait_for 30 is_eq "(loyalty member)" contact_field B12 LastName || fail "B12 placeholder"
pass "a new Contact without a last name is resent with the placeholder"
B1ID=$(contact_id B1)
wait_for 30 is_eq "$B1ID" sql "SELECT remote_id FROM identities WHERE member_key = 'B1' AND system = 'sf'" \
  || fail "B1's Contact id (sf__Id) not learnt"
pass "identity map holds the sf__Id"
assert_eq "$(sim_get state | jq '[.flavor_state.jobs[]] | length')/$(job numberRecordsProcessed)" 1/12 \
  "12 Contact rows (threshold 8) go as one Bulk job"
tokens_after=$(sim_get counters | jq -r '.endpoints["oauth.token"].requests // 0')
[ "$tokens_after" -gt "$tokens_before" ] || fail "no new session minted mid-job"
pass "session expired mid-job and re-minted ($tokens_before -> $tokens_after token requests)"
c() { sim_get counters | jq -r --arg e "$1" '.endpoints[$e].requests // 0'; }
# The CSV is under bulk_multipart_max: the job is created with it, closed
# at once (no upload, no close request).
assert_eq "$(c bulk.create)/$(c bulk.upload)/$(c bulk.state)" 1/0/0 "one job: created with its data in one request"
[ "$(c bulk.get)" -ge 1 ] || fail "the job was never polled"
# The job info counts 12 processed, 1 failed, state JobComplete: the
# successful and failed lists are read, the unprocessed one (documented
# for Failed and Aborted jobs) is not.
assert_eq "$(c bulk.results)" 2 "successful and failed results read once each, no unprocessed list"
assert_eq "$(c collections.upsert)" 1 "one collections request: the placeholder resend"
quiet

# A job whose rows all succeed: only the successful list is read (issue 17:
# create, upload, close, poll, one result read).
sim_post counters/reset '{}'
for i in $(seq 21 28); do
  printf '{"event_id":"r%d","type":"profile","member":"B%d","occurred_at":"2026-11-02T08:00:00Z","attributes":{"email":"b%d@example.com","last_name":"Lee %d"}}\n' "$i" "$i" "$i" "$i"
done >"$T/r.jsonl.src"
drop r.jsonl
wait_for 60 is_eq b28@example.com contact_field B28 Email || fail "B28 not written by the second job"
B21ID=$(contact_id B21)
wait_for 30 is_eq "$B21ID" sql "SELECT remote_id FROM identities WHERE member_key = 'B21' AND system = 'sf'" \
  || fail "B21's Contact id (sf__Id) not learnt from the successful list"
quiet
assert_eq "$(c bulk.create)/$(c bulk.results)/$(c collections.upsert)" 1/1/0 \
  "a job without failures: one result list read (successful)"

# Under the threshold: collections, no job.
sim_post counters/reset '{}'
printf '{"event_id":"q1","type":"profile","member":"B1","occurred_at":"2026-11-02T09:00:00Z","attributes":{"first_name":"Zed"}}\n' >"$T/b.jsonl.src"
drop b.jsonl
wait_for 30 is_eq Zed contact_field B1 FirstName || fail "small batch"
assert_eq "$(c bulk.create)/$(c collections.upsert)" 0/1 "a batch under the threshold goes by collections"

# A segment batch of 210 members (more than one collections request): sent
# as slices of at most 200, every membership written.
for i in $(seq 1 210); do
  printf '{"event_id":"s%d","type":"segment","member":"S%d","occurred_at":"2026-11-02T10:00:00Z","segment":"big","status":"in"}\n' "$i" "$i"
done >"$T/c.jsonl.src"
drop c.jsonl
n_big() { campaign_members big | wc -w; }
wait_for 60 is_eq 210 n_big || fail "210 memberships (got $(n_big))"
pass "a 210-member segment batch is written in slices of at most 200"
quiet
assert_eq "$(sql "SELECT group_concat(DISTINCT member_key) FROM dead_letters WHERE destination = 'sf'")" B11 "only B11's records are dead letters"
stop_daemon
