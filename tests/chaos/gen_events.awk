# Seeded spool input for the chaos scenarios (docs/spool-format.md).
#   awk -v seed=S -v files=F -v lines=L -v members=M -v prefix=P -v outdir=D \
#       -v mode=mixed|flipflop|erasure -v secrets=PATH -f gen_events.awk
# Writes D/P-0001.jsonl ... (names sort in the order they must be taken) and
# the seeded personal data (emails, phones) to `secrets`, one per line, for
# the log scan. Timestamps are in the past, second-granular, often equal (the
# merge rules' tie cases), never in the future.
function ts(sec,   d, h, m, s) {
  # 2026-11-01T00:00:00Z + sec (sec < 20 days)
  d = int(sec / 86400); sec -= d * 86400
  h = int(sec / 3600); sec -= h * 3600
  m = int(sec / 60); s = sec - m * 60
  return sprintf("2026-11-%02dT%02d:%02d:%02dZ", d + 1, h, m, s)
}
function pick(n) { return int(rand() * n) }
function member(   k) { k = pick(members); return sprintf("LOY-%05d", k) }
function consent(id, m,   st, p, c, src, lb, t) {
  p = (rand() < 0.7) ? "marketing" : "profiling"
  r2 = rand(); c = (r2 < 0.6) ? "email" : "sms"
  if (phone && r2 >= 0.85) c = "phone"                  # -v phone=1 (Salesforce: DoNotCall)
  t = ts(3600 + pick(mode == "flipflop" ? 30 : 600))   # narrow window: many ties
  r = rand()
  if (r < 0.45) st = "granted"; else if (r < 0.9) st = "denied"; else st = "unknown"
  src = (rand() < 0.9 || st == "granted") ? ",\"source\":\"till\"" : ""
  lb = (st == "granted" && rand() < 0.95) ? ",\"legal_basis\":\"consent\"" : ""
  if (st == "granted" && lb == "") { }                  # an implicit grant: must not win
  printf "{\"event_id\":\"%s\",\"type\":\"consent\",\"member\":\"%s\",\"occurred_at\":\"%s\",\"purpose\":\"%s\",\"channel\":\"%s\",\"status\":\"%s\"%s%s}\n", id, m, t, p, c, st, src, lb > out
}
function points(id, m,   d, reason, txn) {
  if (rand() < 0.08 && ntx > 0) {
    # a re-sent transaction under another event id: same body = duplicate,
    # otherwise a conflicting body = dead letter
    k = 1 + pick(ntx)
    printf "{\"event_id\":\"%s\",\"type\":\"points\",\"member\":\"%s\",\"occurred_at\":\"%s\",\"txn_id\":\"%s\",\"delta\":%d,\"reason\":\"%s\"}\n", id, txm[k], txt[k], txi[k], (rand() < 0.5 ? txd[k] : txd[k] + 1), txr[k] > out
    return
  }
  if (rand() < 0.6) { d = 1 + pick(500); reason = "earn" } else { d = -(1 + pick(200)); reason = "redeem" }
  txn = sprintf("%s-T%06d", prefix, ++ntx)
  txm[ntx] = m; txt[ntx] = ts(pick(86400)); txi[ntx] = txn; txd[ntx] = d; txr[ntx] = reason
  printf "{\"event_id\":\"%s\",\"type\":\"points\",\"member\":\"%s\",\"occurred_at\":\"%s\",\"txn_id\":\"%s\",\"delta\":%d,\"reason\":\"%s\"}\n", id, m, txt[ntx], txn, d, reason > out
}
function segment(id, m) {
  printf "{\"event_id\":\"%s\",\"type\":\"segment\",\"member\":\"%s\",\"occurred_at\":\"%s\",\"segment\":\"seg%d\",\"status\":\"%s\"}\n", id, m, ts(pick(7200)), pick(3), (rand() < 0.5 ? "in" : "out") > out
}
function profile(id, m,   e, ph) {
  e = sprintf("%s.%d@example-shop.test", tolower(m), pick(1000))
  ph = sprintf("+4915%09d", pick(1000000000))
  print e > secrets; print ph > secrets
  printf "{\"event_id\":\"%s\",\"type\":\"profile\",\"member\":\"%s\",\"occurred_at\":\"%s\",\"attributes\":{\"email\":\"%s\",\"phone\":\"%s\"}}\n", id, m, ts(pick(7200)), e, ph > out
}
function erasure(id, m) {
  printf "{\"event_id\":\"%s\",\"type\":\"erasure\",\"member\":\"%s\",\"occurred_at\":\"%s\"}\n", id, m, ts(pick(86400)) > out
}
BEGIN {
  srand(seed); ntx = 0
  if (secrets == "") secrets = "/dev/null"
  for (f = 1; f <= files; f++) {
    out = sprintf("%s/%s-%04d.jsonl", outdir, prefix, f)
    printf "" > out
    for (i = 1; i <= lines; i++) {
      id = sprintf("%s-%d-%d", prefix, f, i)
      m = member(); r = rand()
      if (mode == "flipflop") {
        if (r < 0.85) consent(id, m); else points(id, m)
      } else if (mode == "erasure") {
        if (r < 0.04) erasure(id, m)
        else if (r < 0.4) consent(id, m)
        else if (r < 0.75) points(id, m)
        else if (r < 0.9) segment(id, m)
        else profile(id, m)
      } else {
        if (r < 0.005) erasure(id, m)
        else if (r < 0.3) consent(id, m)
        else if (r < 0.75) points(id, m)
        else if (r < 0.88) segment(id, m)
        else if (r < 0.97) profile(id, m)
        else if (r < 0.985) print "{\"event_id\":\"" id "\",\"type\":\"points\",\"member\":\"" m "\"}" > out   # bad: fields missing
        else print "not json at all " id > out
      }
    }
    close(out)
  }
}
