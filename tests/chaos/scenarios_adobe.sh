# Adobe Campaign scenarios (connectors/adobe*.c against crmsim --flavor
# adobe, IMS client credentials, SOAP at /nl/jsp/soaprouter.jsp). The spool
# feeds the change-log; the engine pushes WriteCollection upserts,
# Subscribe/Unsubscribe and nms:group memberships; the connector pulls
# recipients and nms:subHisto back (the echo rule must keep our own writes
# from coming back as changes). After quiescence the local state is checked
# against the model (chaos_check), and the simulator's /__sim/state against
# the local state: per live recipient (@memberKey) @loyaltyPoints = the
# ledger sum, @email / @mobilePhone = profile/email / profile/phone; per
# (member, mapped service) a subscription exactly when the consent is
# granted (none when denied); the members of nms:group segN exactly those
# whose segment/segN is "in"; no recipient of an erased member, no twin of
# a key; no request inside a Retry-After window; no IMS secret or token in a
# daemon log.

# The services every (purpose, channel) of gen_events.awk maps to.
ACC_SERVICES="marketing/email=newsletter,marketing/sms=smsOffers,profiling/email=profilingMail,profiling/sms=profilingSms"

# acc_sim_start_chaos [crmsim options]: sets SIM_URL, SIM_PID; the request
# log goes to $W/sim.log with a wall-clock time before each line; the
# information services of ACC_SERVICES are seeded.
acc_sim_start_chaos() {
  local seed p
  ACC_SECRET="chaos-acc-secret-$RANDOM$RANDOM"
  if crmsim_launch "$SIM" "$W/sim.out" "$W/sim.log" stamp --flavor adobe --listen 127.0.0.1:0 --log-requests --seed "$SEED" \
    --client-id ACCCHAOS --client-secret "$ACC_SECRET" \
    --retry-after 1 --stall-ms 4000 --threads 0 "$@"; then
    SIM_URL=$CRMSIM_URL
  else
    log "crmsim did not start: $(head -2 "$W/sim.log")"
    I=$((I + 1))
  fi
  SIM_PID=$CRMSIM_PID
  CHAOS_PIDS+=("$SIM_PID")
  seed=""
  for p in ${ACC_SERVICES//,/ }; do seed="$seed${seed:+,}{\"properties\":{\"name\":\"${p#*=}\"}}"; done
  curl -s -X POST "$SIM_URL/__sim/seed" -d "{\"collections\":{\"nms:service\":[$seed]}}" >/dev/null ||
    { log "services not seeded"; I=$((I + 1)); }
}

# acc_world NAME: a world with a spool and an Adobe Campaign destination.
acc_world() {
  new_world "$1"
  acc_sim_start_chaos
  printf '%s' "$ACC_SECRET" > "$W/acc.secret"; chmod 600 "$W/acc.secret"
  echo "$ACC_SECRET" >> "$W/secrets"
  cat >> "$W/crmsyncd.conf" <<CONF

[connector.acc]
type = adobe_campaign
base_url = $SIM_URL
ims_url = $SIM_URL/ims/token/v3
client_id = ACCCHAOS
client_secret_file = $W/acc.secret
allow_loopback_http = yes
services = $ACC_SERVICES
purposes = marketing,profiling
pull_interval = 2s
lookback = 5s
rate = 100
burst = 100
request_timeout = 3s
CONF
  DESTS=acc
}

# Dead letters whose value is not expected in Campaign: the data or the
# configuration cannot be represented there (an unknown consent status, an
# unmapped field). Anything else (a fault, a race) is expected all the same.
ACC_DL_BY_DATA="(d.reason LIKE '%consent status unknown%' OR d.reason LIKE '%no Campaign service mapped%'
  OR d.reason LIKE '%is not mapped%' OR d.reason LIKE '%cannot be written%')"
acc_not_dead() { # TABLE_ALIAS
  echo "NOT EXISTS (SELECT 1 FROM dead_letters d WHERE d.destination = 'acc'
          AND d.member_key = $1.member_key AND d.field = $1.field AND d.seq >= $1.seq
          AND $ACC_DL_BY_DATA)"
}

# Campaign (the simulator's dump) against the local state. Adds to L, D, V.
acc_check_crm() {
  local db="file:$W/state/state.db?mode=ro" erased n p svc_case m
  curl -s "$SIM_URL/__sim/state" > "$W/sim-state.json" || { I=$((I + 1)); return; }
  erased=$(cat "$W"/inputs/*.jsonl | jq -R -r 'fromjson? | select(.type? == "erasure") | .member' | sort -u)
  # Live recipients: member key -> recipient id (a key twice is a twin).
  jq -r '.collections["nms:recipient"][]? | select(.properties.memberKey // "" != "")
         | "\(.properties.memberKey)|\(.id)"' "$W/sim-state.json" > "$W/acc-rcp.txt"
  n=$(cut -d'|' -f1 "$W/acc-rcp.txt" | sort | uniq -d | wc -l)
  if [ "$n" -gt 0 ]; then
    log "$(basename "$W"): $n member key(s) with two recipients (twins): $(cut -d'|' -f1 "$W/acc-rcp.txt" | sort | uniq -d | head -3 | tr '\n' ' ')"
    D=$((D + n)); KEEP_WORLD=1
  fi
  # Points and profile attributes.
  sqlite3 "$db" "
    SELECT member_key || '|loyaltyPoints|' || SUM(delta) FROM points_ledger GROUP BY member_key;
    SELECT c.member_key || '|' || CASE c.field WHEN 'profile/email' THEN 'email' ELSE 'mobilePhone' END
           || '|' || json_extract(c.value, '\$.value') FROM current c
     WHERE c.field IN ('profile/email', 'profile/phone')
       AND IFNULL(json_extract(c.value, '\$.value'), '') <> '' AND $(acc_not_dead c);" |
    grep -v -F -f <(printf '%s|\n' $erased '#none#') > "$W/crm-exp-rcp.txt"
  jq -r '.collections["nms:recipient"][]? | .properties as $p | ($p.memberKey // empty) as $m
         | ((select(($p.loyaltyPoints // "") != "") | "\($m)|loyaltyPoints|\($p.loyaltyPoints | tostring | tonumber | floor)"),
            ("email", "mobilePhone") as $k | select(($p[$k] // "") != "") | "\($m)|\($k)|\($p[$k])")' \
    "$W/sim-state.json" > "$W/crm-act-rcp.txt"
  # A balance of 0 and no loyaltyPoints written are the same to a reader.
  awk -F'|' 'NR == FNR { have[$1 "|" $2] = 1; next }
             $2 == "loyaltyPoints" && $3 == 0 && !(($1 "|" $2) in have) { print }' \
    "$W/crm-act-rcp.txt" "$W/crm-exp-rcp.txt" >> "$W/crm-act-rcp.txt"
  crm_diff "Campaign recipient attributes" "$W/crm-exp-rcp.txt" "$W/crm-act-rcp.txt"
  # Subscriptions: granted -> subscribed (1), denied -> not (0).
  svc_case="CASE substr(c.field, 9)"
  for p in ${ACC_SERVICES//,/ }; do svc_case="$svc_case WHEN '${p%%=*}' THEN '${p#*=}'"; done
  svc_case="$svc_case END"
  sqlite3 "$db" "SELECT c.member_key || '|' || $svc_case || '|' ||
                        CASE json_extract(c.value, '\$.status') WHEN 'granted' THEN 1 ELSE 0 END
                   FROM current c WHERE c.field LIKE 'consent/%'
                    AND json_extract(c.value, '\$.status') IN ('granted', 'denied')
                    AND ($svc_case) IS NOT NULL AND $(acc_not_dead c);" |
    grep -v -F -f <(printf '%s|\n' $erased '#none#') > "$W/crm-exp-subs.txt"
  jq -r '((.collections["nms:recipient"] // []) | map({(.id | tostring): (.properties.memberKey // "")}) | add // {}) as $r
         | ((.collections["nms:service"] // []) | map({(.id | tostring): .properties.name}) | add // {}) as $s
         | .collections["nms:subscription"][]? | .properties
         | "\($r[.["recipient-id"] | tostring] // "?")|\($s[.["service-id"] | tostring] // "?")"' \
    "$W/sim-state.json" | sort -u > "$W/crm-subs-held.txt"
  awk -F'|' 'NR == FNR { held[$0] = 1; next } { print $1 "|" $2 "|" ((($1 "|" $2) in held) ? 1 : 0) }' \
    "$W/crm-subs-held.txt" "$W/crm-exp-subs.txt" > "$W/crm-act-subs.txt"
  crm_diff "Campaign subscriptions" "$W/crm-exp-subs.txt" "$W/crm-act-subs.txt"
  # A subscription the local state does not hold as granted.
  sqlite3 "$db" "SELECT c.member_key || '|' || $svc_case FROM current c WHERE c.field LIKE 'consent/%'
                  AND json_extract(c.value, '\$.status') = 'granted' AND ($svc_case) IS NOT NULL;" \
    > "$W/crm-exp-granted.txt"
  grep -v -F -f <(printf '%s|\n' $erased '#none#') "$W/crm-subs-held.txt" > "$W/crm-act-granted.txt" || true
  crm_diff "Campaign subscriptions held" "$W/crm-exp-granted.txt" "$W/crm-act-granted.txt" extra
  # Lists: the members of nms:group S are exactly those whose segment/S is in.
  sqlite3 "$db" "SELECT c.member_key || '|' || substr(c.field, 9) FROM current c
                  WHERE c.field LIKE 'segment/%' AND json_extract(c.value, '\$.status') = 'in'
                    AND $(acc_not_dead c);" |
    grep -v -F -f <(printf '%s|\n' $erased '#none#') > "$W/crm-exp-lists.txt"
  jq -r '((.collections["nms:recipient"] // []) | map({(.id | tostring): (.properties.memberKey // "")}) | add // {}) as $r
         | ((.collections["nms:group"] // []) | map({(.id | tostring): .properties.name}) | add // {}) as $g
         | .collections["nms:rcpGrpRel"][]? | .properties
         | "\($r[.["recipient-id"] | tostring] // "?")|\($g[.["rcpGroup-id"] | tostring] // "?")"' \
    "$W/sim-state.json" > "$W/crm-act-lists.txt"
  crm_diff "Campaign list memberships" "$W/crm-exp-lists.txt" "$W/crm-act-lists.txt" extra
  for m in $erased; do
    if grep -q "^$m|" "$W/acc-rcp.txt"; then
      log "$(basename "$W"): erased member $m still a recipient in Campaign"; V=$((V + 1)); KEEP_WORLD=1
    fi
  done
  sqlite3 "$db" "SELECT member_key || ' ' || field || ': ' || reason FROM dead_letters d
                  WHERE destination = 'acc' AND NOT $ACC_DL_BY_DATA" |
    sort -u | head -5 | sed 's/^/chaos:   dead-lettered by a fault, still expected: /' >&2
  # IMS access tokens the simulator issued must never be logged.
  jq -r '.flavor_state.tokens[]? // empty' "$W/sim-state.json" 2>/dev/null > "$W/acc-tokens.txt" || true
  if [ -s "$W/acc-tokens.txt" ]; then
    n=$(cat "$W"/logs/*.log 2>/dev/null | grep -c -F -f "$W/acc-tokens.txt" || true)
    if [ "$n" -gt 0 ]; then log "$(basename "$W"): $n log line(s) carry an IMS token"; V=$((V + n)); KEEP_WORLD=1; fi
  fi
  check_retry_after
}

# One run: inputs fed, optional crash point, faults by rate, then the
# unmodified daemon without faults until quiescence, then checks.
acc_run() { # NAME SEED FILES LINES MEMBERS FAULTS CRASH_AT
  local name=$1 rc=0
  acc_world "$name"
  gen "$2" "$3" "$4" "$5" "$name" mixed
  # Faults on the SOAP router only: the harness's Retry-After check knows
  # the token family by an /oauth path, and IMS is at /ims/token/v3.
  [ -n "$6" ] && sim_faults "{\"faults\":\"$6\",\"fault-match\":\"soaprouter\"}"
  feed "$W"/inputs/*.jsonl
  start_daemon run "${7:-}"
  wait_death_or_quiet 40 || rc=$?
  stop_daemon
  sim_faults '{"faults":""}'
  wait_out_retry_after
  run_until_quiet final || V=$((V + 1))
  check_world
  acc_check_crm
  ACC_LAST_CRASHES=$(crash_count)
  sim_stop
  finish_world
}

# The mixed matrix of the other CRMs; injected 5xx and 429 bodies are SOAP
# faults, token-expiry is Campaign's XSV-350008 (the token manager renews
# once), apply-stall outlasts request_timeout.
scenario_adobe-faults() {
  local f runs=0
  L=0 D=0 I=0 V=0
  local all="429:0.1,429-date:0.05,500:0.05,503:0.05,apply-stall:0.02,drop:0.02,truncate:0.01,token-expiry:0.01"
  local matrix=("$all")
  if [ "$MODE" = soak ]; then
    matrix+=("429:0.1,429-date:0.05" "500:0.05,503:0.05" "drop:0.05,truncate:0.05"
             "token-expiry:0.05" "apply-stall:0.05" "apply-drop:0.05")
  fi
  for f in "${matrix[@]}"; do
    runs=$((runs + 1))
    acc_run "adobe-faults-$runs" $((SEED + 90 + runs)) 2 30 12 "$f"
  done
  summary adobe-faults "$runs" 0
}

scenario_adobe-crash() {
  local runs=1 total n k
  L=0 D=0 I=0 V=0
  acc_run adobe-crash-cal $((SEED + 100)) 2 30 12 "" ""
  total=$ACC_LAST_CRASHES
  RANDOM=$SEED
  if [ "$MODE" = soak ]; then set -- $(seq 1 "$total"); else
    set --; for k in $(seq 1 "${QUICK_SAMPLE:-5}"); do set -- "$@" $(( RANDOM % total + 1 )); done
  fi
  for n in "$@"; do
    runs=$((runs + 1))
    acc_run "adobe-crash-$n" $((SEED + 100)) 2 30 12 "" "$n"
  done
  summary adobe-crash "$runs" "$total"
}
