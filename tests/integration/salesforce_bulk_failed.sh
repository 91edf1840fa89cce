#!/usr/bin/env bash
# A Bulk API 2.0 job that ends Aborted or Failed (docs/salesforce.md
# "Bulk"): no record is lost.
# - Aborted (someone in the org stops the job; here through the API while
#   the job waits to run): its rows are retried, counted as an attempt
#   (the engine's backoff spreads them: they may go by collections), and
#   written.
# - Failed (Salesforce cannot run the job: a header field it does not
#   know, from an attribute_map naming a field the org lacks): the rows go
#   by collections, whose answer says what is wrong; here the whole request
#   is refused (INVALID_FIELD), so every record is dead-lettered with that
#   reason instead of being retried forever.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/salesforce.sh"

# Jobs wait 10 minutes (simulated clock) before they run.
sf_sim_start --sf-bulk-delay-ms 600000
# bulk_multipart_max = 0: the three-step create, upload, UploadComplete
# (salesforce_bulk.sh sends the data with the creation).
sf_config "bulk_threshold = 5
bulk_multipart_max = 0
attribute_map = email=Email,last_name=LastName,birthday=Birth_Date__c"
start_daemon
c() { sim_get counters | jq -r --arg e "$1" '.endpoints[$e].requests // 0'; }
job_state() { sim_get state | jq -r '.flavor_state.jobs[-1].state // empty'; }
job_id() { sim_get state | jq -r '.flavor_state.jobs[-1].id // empty'; }

# --- Aborted ---
for i in 1 2 3 4 5 6; do
  printf '{"event_id":"a%d","type":"profile","member":"A%d","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"a%d@example.com","last_name":"Ames %d"}}\n' "$i" "$i" "$i" "$i"
done >"$T/a.jsonl.src"
drop a.jsonl
wait_for 60 is_eq UploadComplete job_state || fail "no closed Bulk job (state '$(job_state)')"
JOB=$(job_id)
api PATCH "/jobs/ingest/$JOB" '{"state":"Aborted"}' >/dev/null || fail "cannot abort job $JOB"
pass "job $JOB aborted in Salesforce while it waits to run"
sim_post config '{"sf-bulk-delay-ms":200}'
# Noticed: its rows are scheduled for another attempt.
wait_for 60 metric_above 'crmsyncd_push_retries_total{connector="sf"}' 0 || fail "the Aborted job is not noticed"
for i in 1 2 3 4 5 6; do
  wait_for 60 is_eq "a$i@example.com" contact_field "A$i" Email || fail "A$i not written after the abort"
done
pass "the aborted job's rows are retried and written"
# The records of a member are retried each on its own backoff: let the
# last of them be acknowledged before counting requests below. (No pull
# succeeds in this configuration: its SOQL names Birth_Date__c too.)
a_acked() { [ "$(sql "SELECT COUNT(*) FROM changes WHERE member_key LIKE 'A%' AND seq > (SELECT seq FROM push_cursors WHERE connector = 'sf' AND lane = 2)")" = 0 ]; }
wait_for 60 a_acked || fail "the aborted job's records are not all acknowledged"
assert_eq "$(sql "SELECT COUNT(*) FROM dead_letters WHERE destination = 'sf'")" 0 "no dead letters after an abort"

# --- Failed ---
sim_post counters/reset '{}'
for i in 1 2 3 4 5; do
  printf '{"event_id":"f%d","type":"profile","member":"F%d","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"f%d@example.com","last_name":"Fox %d"}}\n' "$i" "$i" "$i" "$i"
done >"$T/b.jsonl.src"
printf '{"event_id":"f6","type":"profile","member":"F6","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"f6@example.com","last_name":"Fox 6","birthday":"1990-01-01"}}\n' >>"$T/b.jsonl.src"
drop b.jsonl
wait_for 60 is_eq Failed job_state || fail "the job did not fail (state '$(job_state)')"
FJOB=$(job_id)
sim_get state | jq -r '.flavor_state.jobs[-1].errorMessage' | grep -q 'Field name not found : Birth_Date__c' \
  || fail "the job failed for another reason"
dead() { sql "SELECT COUNT(DISTINCT member_key) FROM dead_letters WHERE destination = 'sf' AND member_key LIKE 'F%'"; }
wait_for 60 is_eq 6 dead || fail "the failed job's records are not dead-lettered (got $(dead) members)"
pass "every record of the failed job is dead-lettered"
grep -q "Bulk job $FJOB Failed: InvalidBatch : Field name not found : Birth_Date__c; 6 Contact(s) resent by collections" "$T/daemon.log" \
  || fail "the Failed job is not logged with its errorMessage"
pass "the Failed job is logged with Salesforce's errorMessage"
assert_eq "$(c collections.upsert)" 1 "its rows went by collections"
assert_eq "$(sql "SELECT COUNT(*) FROM dead_letters WHERE destination = 'sf' AND member_key LIKE 'F%' AND last_error NOT LIKE '%INVALID_FIELD%Birth_Date__c%'")" 0 \
  "each dead letter names the field Salesforce does not know"
assert_eq "$(sql "SELECT COUNT(*) FROM changes c WHERE c.member_key LIKE 'F%' AND c.kind = 'profile' AND NOT EXISTS (SELECT 1 FROM dead_letters d WHERE d.destination = 'sf' AND d.seq = c.seq)")" 0 \
  "no record of the failed job lost"
assert_eq "$(c bulk.create)/$(c bulk.upload)/$(c bulk.state)" 1/1/1 "no new job for them (not retried forever): created, uploaded, closed"
stop_daemon
