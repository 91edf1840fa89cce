#!/usr/bin/env bash
# crmsim HubSpot batch upsert: the fast path (bodies parsed before the lock,
# hubspot_upsert.h) answers every request byte for byte as the general path
# does, and leaves the same state and counters. The same requests run twice
# on one simulator, reset in between: with --fast-paths (the default), then
# with fast-paths off; answers, state and counters are compared with times
# and correlation ids masked. Cases: creates and updates, cleared and typed
# values, key order, escapes (\u included, as the daemon's bodies are ASCII
# with \u escapes) and UTF-8, bodies the fast path leaves to the general one
# (reals, \u0000, lone surrogates, long values, extra keys, bad JSON) and
# every error the fast path declines (unknown or read-only property, bad
# email, duplicate ids, unique-value clashes, bad idProperty, batch size).
source "${SRC_DIR:?}/tests/sim/testlib.bash"
sim_start --rate-limits false
V=/crm/objects/2026-09/contacts
U=$V/batch/upsert

long=$(printf 'x%.0s' $(seq 600))
just=$(printf 'y%.0s' $(seq 511))
key=$(printf 'k%.0s' $(seq 90))
hundred=$(jq -cn '{inputs: [range(0; 100) | {id: "bench\(.)@example.com", idProperty: "email",
    properties: {firstname: "B\(.)", lastname: "Mark", phone: "+4412345\(.)"}}]}')
too_many=$(jq -cn '{inputs: [range(0; 101) | {id: "m\(.)@example.com", idProperty: "email",
    properties: {}}]}')

# One step per line: METHOD PATH BODY (the body may be empty).
steps() {
    cat <<EOF
POST /crm/properties/2026-09/contacts {"name":"member_id","label":"Member","type":"string","fieldType":"text","groupName":"contactinformation","hasUniqueValue":true}
POST $U {"inputs":[{"id":"A1@Example.com","idProperty":"email","properties":{"firstname":"Ann","lastname":"Lee","phone":"+441"}},{"id":"b2@example.com","idProperty":"email","properties":{"firstname":"Bob"}},{"id":"c3@example.com","idProperty":"email","properties":{}}]}
POST $U {"inputs":[{"id":"A1@Example.com","idProperty":"email","properties":{"firstname":"Ann","lastname":"Lee","phone":"+441"}}]}
POST $U {"inputs":[{"id":"a1@example.com","idProperty":"email","properties":{"lastname":"","phone":null,"company":12345,"lifecyclestage":true,"date_of_birth":false}}]}
POST $U {"inputs":[{"properties":{"email":"OTHER@example.com","firstname":"X"},"idProperty":"email","id":"b2@example.com"}]}
POST $U {"inputs":[{"id":"d4@example.com","idProperty":"email","properties":{"firstname":"Zo\\/e","lastname":"q\"uote\\\\ sl\/ash\n\ttab \b\f\r","company":"Zoë 𝄞 ü"}}]}
POST $U {"inputs":[{"id":"d4@example.com","idProperty":"email","properties":{"firstname":"Zo\u00eb","lastname":"\u20AC \ud834\udd1e \u0041\u0001"}}]}
POST $U {"inputs":[{"id":"\u0048\u0038@example.com","idProperty":"email","properties":{"company":"\u00e9\u00E9"}}]}
POST $U {"inputs":[{"id":"h8@example.com","idProperty":"email","properties":{"company":"a\u0000b"}}]}
POST $U {"inputs":[{"id":"h8@example.com","idProperty":"email","properties":{"company":"\ud800"}}]}
POST $U {"inputs":[{"id":"h8@example.com","idProperty":"email","properties":{"company":"\ud800\u0041"}}]}
POST $U {"inputs":[{"id":"h8@example.com","idProperty":"email","properties":{"company":"\udc00"}}]}
POST $U {"inputs":[{"id":"h8@example.com","idProperty":"email","properties":{"company":"\u00g1"}}]}
POST $U {"inputs":[{"id":"h8@example.com","idProperty":"email","properties":{"company":"\u00e"}}]}
POST $U {"inputs":[{"id":"d4@example.com","idProperty":"email","properties":{"company":1.5,"phone":-0,"firstname":-12,"lastname":0}}]}
POST $U {"inputs":[{"id":"d4@example.com","idProperty":"email","properties":{"company":12345678901234567890}}]}
POST $U {"inputs":[{"id":"d4@example.com","idProperty":"email","properties":{"company":"$long","lastname":"$just"}}]}
POST $U {"inputs":[{"id":"e5@example.com","idProperty":"email","properties":{"company":"$just"}}]}
POST $U {"inputs":[{"id":"e5@example.com","idProperty":"email","properties":{"email":"not an email"}}]}
POST $U {"inputs":[{"id":"not-an-email","idProperty":"email","properties":{}}]}
POST $U {"inputs":[{"id":"e5@example.com","idProperty":"email","properties":{"nosuch":"1"}}]}
POST $U {"inputs":[{"id":"e5@example.com","idProperty":"email","properties":{"$key":"1"}}]}
POST $U {"inputs":[{"id":"e5@example.com","idProperty":"email","properties":{"createdate":"1"}}]}
POST $U {"inputs":[{"id":"e5@example.com","idProperty":"email","properties":{"email":true}}]}
POST $U {"inputs":[{"id":"e5@example.com","idProperty":"email","properties":{"company":{"a":1}}}]}
POST $U {"inputs":[{"id":"e5@example.com","idProperty":"email","properties":{"company":["a"]}}]}
POST $U {"inputs":[{"id":"F6@example.com","idProperty":"email","properties":{}},{"id":"f6@EXAMPLE.com","idProperty":"email","properties":{}}]}
POST $U {"inputs":[{"id":"a1@example.com","idProperty":"email","properties":{"member_id":"M1"}}]}
POST $U {"inputs":[{"id":"b2@example.com","idProperty":"email","properties":{"member_id":"M1"}}]}
POST $U {"inputs":[{"id":"b2@example.com","idProperty":"email","properties":{"member_id":"M2"}},{"id":"c3@example.com","idProperty":"email","properties":{"member_id":"M2"}}]}
POST $U {"inputs":[{"id":"b2@example.com","idProperty":"email","properties":{"member_id":"M2"}},{"id":"c3@example.com","idProperty":"email","properties":{"member_id":"M3"}}]}
POST $U {"inputs":[{"id":"M1","idProperty":"member_id","properties":{"firstname":"ByMember"}},{"id":"M9","idProperty":"member_id","properties":{"firstname":"New"}}]}
POST $U {"inputs":[{"id":"M2","idProperty":"member_id","properties":{"member_id":"M3"}}]}
POST $U {"inputs":[{"id":"M2","idProperty":"member_id","properties":{"member_id":""}}]}
POST $U {"inputs":[{"id":"x","idProperty":"firstname","properties":{}}]}
POST $U {"inputs":[{"id":"1","idProperty":"hs_object_id","properties":{}}]}
POST $U {"inputs":[{"id":"a1@example.com","properties":{}}]}
POST $U {"inputs":[{"idProperty":"email","properties":{}}]}
POST $U {"inputs":[{"id":"","idProperty":"email","properties":{}}]}
POST $U {"inputs":[{"id":7,"idProperty":"email","properties":{}}]}
POST $U {"inputs":[{"id":"a1@example.com","idProperty":"email"}]}
POST $U {"inputs":[{"id":"a1@example.com","id":"b2@example.com","idProperty":"email","properties":{}}]}
POST $U {"inputs":[{"id":"a1@example.com","idProperty":"email","properties":{"firstname":"a","firstname":"b"}}]}
POST $U {"inputs":[]}
POST $U {"inputs":[{"id":"a1@example.com","idProperty":"email","properties":{}}],"inputs":[]}
POST $U {"inputs":[{"id":"a1@example.com","idProperty":"email","properties":{}}],"extra":1}
POST $U {"inputs":[{"id":"a1@example.com","idProperty":"email","properties":{},"objectWriteTraceId":"t1"}]}
POST $U [{"id":"a1@example.com"}]
POST $U {"inputs":[{"id":"a1@example.com","idProperty":"email","properties":{}}]} x
POST $U {"inputs":[{"id":"a1@example.com","idProperty":"email","properties":{"firstname":"a"},}]}
POST $U {"inputs":[
POST $U {"inputs":{}}
POST $U $too_many
POST $U $hundred
POST $U $hundred
DELETE $V/1
POST $U {"inputs":[{"id":"a1@example.com","idProperty":"email","properties":{"firstname":"Again"}}]}
POST $U {"inputs":[{"id":"M1","idProperty":"member_id","properties":{}}]}
POST $U   { "inputs" : [ { "id" : "g7@example.com" , "idProperty" : "email" , "properties" : { "firstname" : "Spaced" } } ] }  
EOF
}

mask() {
    sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z/<time>/g;
            s/"correlationId":"[^"]*"/"correlationId":"<id>"/g'
}

# run FAST OUT: the steps from a reset simulator with fast-paths FAST.
run() {
    local method path data n=0
    ctl POST reset >/dev/null
    ctl POST config "{\"fast-paths\": $1}" >/dev/null
    : >"$2"
    while IFS= read -r line; do
        n=$((n + 1))
        method=${line%% *}
        line=${line#* }
        path=${line%% *}
        data=${line#"$path"}
        data=${data# }
        req "$method" "$path" "$data"
        { echo "step $n: $method $path $STATUS"; mask <"$T/body"; echo; } >>"$2"
    done < <(steps)
    { ctl GET state | mask; echo; ctl GET counters | jq -S '.endpoints'; } >>"$2"
}

run true "$T/fast"
run false "$T/general"
grep -q '^step 54: POST .* 200$' "$T/fast" || fail "the 100-record upsert did not answer 200"
diff -u "$T/general" "$T/fast" >&2 || fail "fast path and general path differ (above)"
ok "batch upsert: fast path and general path agree on $(grep -c '^step' "$T/fast") requests"
sim_stop
