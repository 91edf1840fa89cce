# Salesforce scenarios (connectors/salesforce*.c against crmsim --flavor
# salesforce, JWT bearer auth with a key made per world). The spool feeds the
# change-log; the engine pushes Contact upserts (collections: the data set is
# far below bulk_threshold). After quiescence the local state is checked
# against the model (chaos_check, as for the spool scenarios), and the
# simulator's /__sim/state against the local state: per member, the Contact
# flags HasOptedOutOfEmail / SMS_Opt_Out__c / DoNotCall of consent/marketing/
# email|sms|phone (denied -> true, anything else -> false) and
# Loyalty_Points__c = the ledger sum; no live Contact for an erased member;
# no request inside a Retry-After window; no session token in a daemon log.
# Inputs carry the phone channel too (GEN_PHONE=1) so DoNotCall is covered.
# SF_EXTRA: more lines for the connector's section, e.g. SF_EXTRA=
# "bulk_threshold = 3" sends the Contact batches as Bulk API 2.0 jobs.

# sf_sim_start [crmsim options]: sets SIM_URL, SIM_PID; RSA key pair in $W;
# request log in $W/sim.log with a wall-clock time before each line.
sf_sim_start() {
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$W/sf.key" 2>/dev/null
  chmod 600 "$W/sf.key"
  openssl pkey -in "$W/sf.key" -pubout -out "$W/sf.pub" 2>/dev/null
  if crmsim_launch "$SIM" "$W/sim.out" "$W/sim.log" stamp --flavor salesforce --listen 127.0.0.1:0 --log-requests --seed "$SEED" \
    --client-id CK1 --sf-username chaos@example.com --sf-jwt-public-key "$W/sf.pub" \
    --retry-after 1 --stall-ms 4000 --threads 0 "$@"; then
    SIM_URL=$CRMSIM_URL
  else
    log "crmsim did not start: $(head -2 "$W/sim.log")"
    I=$((I + 1))
  fi
  SIM_PID=$CRMSIM_PID
  CHAOS_PIDS+=("$SIM_PID")
}

# sf_world NAME: a world with a spool and a Salesforce destination. With
# SF_MODE=objects the connector runs consent_mode = consent_objects and
# points_mode = loyalty (Individual / ContactPointTypeConsent per purpose and
# channel; one TransactionJournal per ledger transaction in LoyaltyProgram
# "Chaos Club", seeded here); default: the Contact fields.
sf_world() {
  local modes=""
  new_world "$1"
  sf_sim_start
  if [ "${SF_MODE:-fields}" = objects ]; then
    curl -s -X POST "$SIM_URL/__sim/seed" \
      -d '{"collections":{"LoyaltyProgram":[{"id":"1","properties":{"Name":"Chaos Club"}}],
           "JournalType":[{"id":"1","properties":{"Name":"Accrual"}},{"id":"2","properties":{"Name":"Redemption"}}],
           "LoyaltyProgramCurrency":[{"id":"1","properties":{"Name":"Points","LoyaltyProgramId":"0lpSm0000000001","CurrencyType":"NonQualifying"}}]}}' >/dev/null
    modes="consent_mode = consent_objects
points_mode = loyalty
loyalty_program = Chaos Club
loyalty_currency = Points"
  fi
  cat >> "$W/crmsyncd.conf" <<CONF

[connector.salesforce]
type = salesforce
login_url = $SIM_URL
allow_loopback_http = yes
client_id = CK1
username = chaos@example.com
private_key_file = $W/sf.key
pull_interval = 2s
lookback = 0s
deleted_sweep = 0s
rate = 100
burst = 100
request_timeout = 3s
$modes
${SF_EXTRA:-}
CONF
  DESTS=salesforce
}

# The Salesforce simulator against the local state. Adds to L (a value the
# CRM lacks or has otherwise) and V.
sf_check_crm() {
  local exp act erased n
  curl -s "$SIM_URL/__sim/state" > "$W/sim-state.json" || { I=$((I + 1)); return; }
  exp="$W/crm-expected.txt"; act="$W/crm-actual.txt"
  erased=$(cat "$W"/inputs/*.jsonl | jq -R -r 'fromjson? | select(.type? == "erasure") | .member' | sort -u)
  if [ "${SF_MODE:-fields}" = objects ]; then
    sf_check_objects "$erased"
  else
    sqlite3 "file:$W/state/state.db?mode=ro" "
      SELECT member_key || '|Loyalty_Points__c|' || SUM(delta) FROM points_ledger GROUP BY member_key;
      SELECT member_key || '|' || CASE field WHEN 'consent/marketing/email' THEN 'HasOptedOutOfEmail'
               WHEN 'consent/marketing/sms' THEN 'SMS_Opt_Out__c' ELSE 'DoNotCall' END || '|' ||
             CASE json_extract(value, '\$.status') WHEN 'denied' THEN 'true' ELSE 'false' END
        FROM current WHERE field IN ('consent/marketing/email', 'consent/marketing/sms',
                                     'consent/marketing/phone')
        AND json_extract(value, '\$.status') IS NOT NULL;" |
      grep -v -F -f <(printf '%s|\n' $erased '#none#') | sort > "$exp"
    # A checkbox is never null in Salesforce (false by default); the
    # simulator leaves a never-written one out: absent = false.
    jq -r '.collections.Contact[]? | select(.archived | not) | .properties as $p
           | ($p.Member_Key__c // empty) as $m
           | ((["HasOptedOutOfEmail", "SMS_Opt_Out__c", "DoNotCall"][] as $k
               | "\($m)|\($k)|\(if ($p[$k] // "") == "" then "false" else $p[$k] end)"),
              (select(($p.Loyalty_Points__c // "") != "")
               | "\($m)|Loyalty_Points__c|\($p.Loyalty_Points__c | tostring | tonumber | floor)"))' \
      "$W/sim-state.json" | sort > "$act"
    n=$(comm -23 "$exp" "$act" | wc -l)
    if [ "$n" -gt 0 ]; then
      log "$(basename "$W"): $n Salesforce value(s) differ from the local state, e.g.:"; comm -23 "$exp" "$act" | head -3 >&2
      comm -13 "$exp" "$act" | head -3 | sed 's/^/  Salesforce has: /' >&2
      L=$((L + n)); KEEP_WORLD=1
    fi
  fi
  sf_check_segments_profile "$erased"
  for m in $erased; do
    if jq -e --arg m "$m" '.collections.Contact[]? | select((.archived | not) and .properties.Member_Key__c == $m)' \
         "$W/sim-state.json" >/dev/null; then
      log "$(basename "$W"): erased member $m still a live Contact in Salesforce"; V=$((V + 1)); KEEP_WORLD=1
    fi
  done
  # Session ids the simulator minted (00D...!AQ...) must never be logged.
  n=$(cat "$W"/logs/*.log 2>/dev/null | grep -c -E '00D[0-9A-Za-z]{12,15}!AQ' || true)
  if [ "$n" -gt 0 ]; then log "$(basename "$W"): $n log line(s) carry a session id"; V=$((V + n)); KEEP_WORLD=1; fi
  check_retry_after
}

# The dead-letter clause: a value whose push to Salesforce was dead-lettered
# (its change or a later one of the field) for a reason in the data or the
# configuration (DL_BY_DATA, scenarios_hubspot.sh) is not expected in the
# CRM; one dead-lettered by a fault is.
sf_not_dead() { # TABLE_ALIAS
  echo "NOT EXISTS (SELECT 1 FROM dead_letters d WHERE d.destination = 'salesforce'
          AND d.member_key = $1.member_key AND d.field = $1.field AND d.seq >= $1.seq
          AND $DL_BY_DATA)"
}

# Segments and profile fields, both modes. CampaignMember with
# Membership_Key__c = "<member>:<segment>" exists exactly for the segments
# the member is "in" (out = deleted); Contact Email / Phone = profile/email /
# profile/phone (attribute_map defaults).
sf_check_segments_profile() { # ERASED_MEMBERS
  local db="file:$W/state/state.db?mode=ro"
  sqlite3 "$db" "SELECT c.member_key || ':' || substr(c.field, 9) FROM current c
                  WHERE c.field LIKE 'segment/%' AND json_extract(c.value, '\$.status') = 'in'
                    AND $(sf_not_dead c);" > "$W/crm-exp-cm.txt"
  jq -r '.collections.CampaignMember[]? | select(.archived | not) | .properties.Membership_Key__c // empty' \
    "$W/sim-state.json" | grep -v -F -f <(printf '%s:\n' $1 '#none#') > "$W/crm-act-cm.txt"
  crm_diff "Salesforce CampaignMember" "$W/crm-exp-cm.txt" "$W/crm-act-cm.txt" extra
  sqlite3 "$db" "SELECT c.member_key || '|' || CASE c.field WHEN 'profile/email' THEN 'Email' ELSE 'Phone' END
                        || '|' || json_extract(c.value, '\$.value') FROM current c
                  WHERE c.field IN ('profile/email', 'profile/phone')
                    AND IFNULL(json_extract(c.value, '\$.value'), '') <> '' AND $(sf_not_dead c);" \
    > "$W/crm-exp-profile.txt"
  jq -r '.collections.Contact[]? | select(.archived | not) | .properties as $p | ($p.Member_Key__c // empty) as $m
         | ("Email", "Phone") as $k | select(($p[$k] // "") != "") | "\($m)|\($k)|\($p[$k])"' \
    "$W/sim-state.json" > "$W/crm-act-profile.txt"
  crm_diff "Salesforce Contact Email/Phone" "$W/crm-exp-profile.txt" "$W/crm-act-profile.txt"
}

# consent_objects + loyalty mode: ContactPointTypeConsent per consent
# (Consent_Key__c "<member>:<purpose>:<channel>", PrivacyConsentStatus OptIn /
# OptOut / NotSeen for granted / denied / unknown); one TransactionJournal
# per ledger transaction (ExternalTransactionNumber = txn_id,
# TransactionAmount = |delta|, JournalType Accrual or Redemption): a txn_id twice is duplicated, a journal the ledger does not have
# (erased members' aside) is a violation, a ledger row without one is lost.
sf_check_objects() { # ERASED_MEMBERS
  local db="file:$W/state/state.db?mode=ro" n
  sqlite3 "$db" "SELECT c.member_key || ':' || substr(c.field, 9, instr(substr(c.field, 9), '/') - 1) || ':'
                        || substr(substr(c.field, 9), instr(substr(c.field, 9), '/') + 1) || '|'
                        || CASE json_extract(c.value, '\$.status') WHEN 'granted' THEN 'OptIn'
                           WHEN 'denied' THEN 'OptOut' ELSE 'NotSeen' END
                   FROM current c WHERE c.field LIKE 'consent/%' AND $(sf_not_dead c);" > "$W/crm-exp-cptc.txt"
  jq -r '.collections.ContactPointTypeConsent[]? | select(.archived | not) | .properties
         | "\(.Consent_Key__c)|\(.PrivacyConsentStatus)"' "$W/sim-state.json" |
    grep -v -F -f <(printf '%s:\n' $1 '#none#') > "$W/crm-act-cptc.txt"
  crm_diff "Salesforce ContactPointTypeConsent" "$W/crm-exp-cptc.txt" "$W/crm-act-cptc.txt"
  sqlite3 "$db" "SELECT txn_id || '|' || delta FROM points_ledger;" > "$W/crm-exp-journals.txt"
  # The sign is the journal type's (JournalType store id 2 is Redemption,
  # seeded in sf_world; its Salesforce id ends the 15-character key in "2").
  jq -r '.collections.TransactionJournal[]? | select(.archived | not) | .properties
         | "\(.ExternalTransactionNumber)|\((.TransactionAmount | tostring | tonumber | floor)
              * (if (.JournalTypeId[0:15] | endswith("2")) then -1 else 1 end))"' "$W/sim-state.json" \
    > "$W/crm-act-journals.all"
  n=$(cut -d'|' -f1 "$W/crm-act-journals.all" | sort | uniq -d | wc -l)
  if [ "$n" -gt 0 ]; then
    log "$(basename "$W"): $n txn_id(s) posted twice as TransactionJournal, e.g.: $(cut -d'|' -f1 "$W/crm-act-journals.all" | sort | uniq -d | head -3 | tr '\n' ' ')"
    D=$((D + n)); KEEP_WORLD=1
  fi
  # Journals of erased members (their ledger rows are gone locally) aside.
  cat "$W"/inputs/*.jsonl | jq -R -r --arg e " $(echo $1) " 'fromjson? | select(.type? == "points" and .txn_id != null)
      | select(.member as $m | $e | contains(" " + $m + " ")) | .txn_id' | sort -u > "$W/erased-txns.txt"
  sort -u "$W/crm-act-journals.all" | grep -v -F -f <(sed 's/$/|/' "$W/erased-txns.txt"; echo '#none#|') \
    > "$W/crm-act-journals.txt"
  crm_diff "Salesforce TransactionJournal" "$W/crm-exp-journals.txt" "$W/crm-act-journals.txt" extra
}

# One run: inputs fed, optional crash point, faults by rate, then the
# unmodified daemon without faults until quiescence, then checks.
sf_run() { # NAME SEED FILES LINES MEMBERS FAULTS CRASH_AT
  local name=$1 rc=0
  sf_world "$name"
  GEN_PHONE=1 gen "$2" "$3" "$4" "$5" "$name" mixed
  [ -n "$6" ] && sim_faults "{\"faults\":\"$6\"}"
  feed "$W"/inputs/*.jsonl
  start_daemon run "${7:-}"
  wait_death_or_quiet 40 || rc=$?
  stop_daemon
  sim_faults '{"faults":""}'
  wait_out_retry_after
  run_until_quiet final || V=$((V + 1))
  check_world
  sf_check_crm
  SF_LAST_CRASHES=$(crash_count)
  sim_stop
  finish_world
}

# The connector modes (SF_FAULT_MODES, default both): the Contact fields,
# and (SF_MODE=objects) consent objects + loyalty journals (under faults
# that mode lost a withdrawal: bug 8 in README.md, fixed in eaae8c2).
scenario_salesforce-faults() {
  local f runs=0 mode modes
  L=0 D=0 I=0 V=0
  local all="429:0.1,429-date:0.05,500:0.05,503:0.05,apply-stall:0.02,drop:0.02,truncate:0.01,bad-json:0.01,token-expiry:0.01"
  local matrix=("$all")
  if [ "$MODE" = soak ]; then
    matrix+=("429:0.1,429-date:0.05" "500:0.05,503:0.05" "drop:0.05,truncate:0.05,bad-json:0.05"
             "token-expiry:0.05" "apply-stall:0.05")
  fi
  modes=${SF_FAULT_MODES:-fields objects}
  for mode in $modes; do
    for f in "${matrix[@]}"; do
      runs=$((runs + 1))
      SF_MODE=$mode sf_run "salesforce-faults-$mode-$runs" $((SEED + 70 + runs)) 2 30 12 "$f"
    done
  done
  summary salesforce-faults "$runs" 0
}

scenario_salesforce-crash() {
  local runs=0 total=0 n k mode
  L=0 D=0 I=0 V=0
  for mode in fields objects; do
    SF_MODE=$mode sf_run "salesforce-crash-$mode-cal" $((SEED + 80)) 2 30 12 "" ""
    runs=$((runs + 1))
    total=$((total + SF_LAST_CRASHES))
    RANDOM=$SEED
    if [ "$MODE" = soak ]; then set -- $(seq 1 "$SF_LAST_CRASHES"); else
      set --; for k in $(seq 1 "${QUICK_SAMPLE:-5}"); do set -- "$@" $(( RANDOM % SF_LAST_CRASHES + 1 )); done
    fi
    for n in "$@"; do
      runs=$((runs + 1))
      SF_MODE=$mode sf_run "salesforce-crash-$mode-$n" $((SEED + 80)) 2 30 12 "" "$n"
    done
  done
  summary salesforce-crash "$runs" "$total"
}
