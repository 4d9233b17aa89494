#!/bin/bash
# The timeline SVG parses as XML and holds the expected marks and cuts for a
# known log; a log of many events is aggregated into a bounded picture.
set -u
. "$(dirname "$0")/lib.sh"
t_require xmllint awk "$AUDIT"
t_tmpdir

C='{"meta":0,"data":0,"unknown":0}'
D1='{"meta":1,"data":0,"unknown":0}'
D2='{"meta":0,"data":2,"unknown":0}'
cat >"$T/known.jsonl" <<EOF2
{"seq":1,"ns":1000,"ev":"open","file":"img","size":1048576,"line":64,"created":true,"policy":"lose-all","seed":0}
{"seq":2,"ns":2000,"ev":"classify","class":"meta","off":0,"len":4096,"lines":64}
{"seq":3,"ns":3000,"ev":"write","off":0,"len":64,"fua":false,"dirtied":$D1,"cleaned":$C,"persisted":$C,"dlog":16}
{"seq":4,"ns":4000,"ev":"write","off":524288,"len":128,"fua":false,"dirtied":$D2,"cleaned":$C,"persisted":$C,"dlog":112}
{"seq":5,"ns":5000,"ev":"mark","text":"ack a.dat 1 fsync <&>"}
{"seq":6,"ns":6000,"ev":"flush","persisted":{"meta":1,"data":2,"unknown":0}}
{"seq":7,"ns":7000,"ev":"mark","text":"ack a.dat 2 fsync"}
{"seq":8,"ns":8000,"ev":"write","off":524288,"len":64,"fua":false,"dirtied":$D2,"cleaned":$C,"persisted":$C,"dlog":272}
{"seq":9,"ns":9000,"ev":"cut","trigger":"at-mark=x","policy":"random","p":0.5,"seed":42,"lost":{"meta":0,"data":1,"unknown":0},"kept":{"meta":0,"data":1,"unknown":0},"torn":$C,"lost_ranges":[[524288,64]],"kept_ranges":[[524352,64]],"torn_ranges":[]}
{"seq":10,"ns":10000,"ev":"power-on"}
{"seq":11,"ns":11000,"ev":"mark","text":"after"}
{"seq":12,"ns":12000,"ev":"cut","trigger":"manual","policy":"lose-all","seed":7,"lost":$C,"kept":$C,"torn":$C,"lost_ranges":[],"kept_ranges":[],"torn_ranges":[]}
EOF2
x() { xmllint --xpath "$1" "$T/known.svg" 2>/dev/null; }
if "$AUDIT" timeline "$T/known.jsonl" -o "$T/known.svg" 2>"$T/err"; then
    t_ok "timeline of a known log"
else
    t_fail "timeline of a known log" "$(cat "$T/err")"
fi
t_check "the SVG parses as XML" xmllint --noout "$T/known.svg"
t_check "three marks" test "$(x "count(//*[local-name()='g'][@class='mark'])")" = 3
t_check "two cuts" test "$(x "count(//*[local-name()='g'][@class='cut'])")" = 2
t_check "mark text kept, escaped" \
    test "$(x "string(//*[local-name()='g'][@class='mark'][1]/*[local-name()='title'])")" = \
    "seq 5: ack a.dat 1 fsync <&>"
t_check "cut title names trigger, policy and seed" \
    sh -c "xmllint --xpath \"string(//*[local-name()='g'][@class='cut'][1]/*[local-name()='title'])\" \
           '$T/known.svg' | grep -q 'cut at seq 9: at-mark=x, random seed 42: lost 1'"
t_check "the lost range is drawn in red at the cut" \
    test "$(x "count(//*[local-name()='g'][@class='cut'][1]/*[local-name()='rect'][@fill='#d62728'])")" = 1
t_check "one flush" test "$(x "count(//*[local-name()='g'][@class='flush'])")" = 1
t_check "metadata and data writes in two colours" \
    sh -c "grep -q 'fill=\"#1f5fbf\"' '$T/known.svg' && grep -q 'fill=\"#2ca02c\"' '$T/known.svg'"
"$AUDIT" timeline "$T/known.jsonl" -o "$T/part.svg" --from 6 --to 9
t_check "--from/--to keeps only that part" \
    test "$(xmllint --xpath "count(//*[local-name()='g'][@class='mark'])" "$T/part.svg")" = 1

# While the device is off (from a cut to power-on) the log says 0 dirty
# lines: the curve is at its baseline there, not at the maximum of the bin
# whose writes came just before the cut (issue 12, 16).  Bins of 25 ns: the
# write and the cut are in bin 40, power-on in 360; x = 90 + 2.7 * bin;
# the baseline is y = 654.
cat >"$T/off.jsonl" <<EOF2
{"seq":1,"ns":1000,"ev":"open","file":"img","size":1048576,"line":64,"created":true,"policy":"lose-all","seed":0}
{"seq":2,"ns":2000,"ev":"write","off":0,"len":128,"fua":false,"dirtied":$D2,"cleaned":$C,"persisted":$C}
{"seq":3,"ns":2001,"ev":"cut","trigger":"manual","policy":"lose-all","seed":7,"lost":$D2,"kept":$C,"torn":$C,"lost_ranges":[[0,128]],"kept_ranges":[],"torn_ranges":[]}
{"seq":4,"ns":10000,"ev":"power-on"}
{"seq":5,"ns":11000,"ev":"mark","text":"after"}
EOF2
"$AUDIT" timeline "$T/off.jsonl" -o "$T/off.svg"
off_ys=$(xmllint --xpath "string(//*[local-name()='polyline'][@class='dirty']/@points)" \
    "$T/off.svg" | tr ' ' '\n' | awk -F, '$1 > 90 + 2.7 * 42 && $1 < 90 + 2.7 * 358 {print $2}' |
    sort -u | tr '\n' ' ')
t_check "no dirty lines drawn while the device is off (y there: $off_ys)" test "$off_ys" = "654.0 "
"$AUDIT" timeline "$T/known.jsonl" -o "$T/none.svg" --from 140 >"$T/out" 2>"$T/err"
rc=$?
if [ $rc -eq 2 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q 'seq 1..12' "$T/err"; then
    t_ok "--from past the end of the log: exit 2, one line naming the log's seqs"
else
    t_fail "--from past the end of the log" "exit $rc, stderr: $(head -c 300 "$T/err")"
fi
"$AUDIT" timeline "$T/known.jsonl" -o "$T/none.svg" --from 140 --to 60 >"$T/out" 2>"$T/err"
rc=$?
if [ $rc -eq 2 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q 'from 140 .*to 60' "$T/err"; then
    t_ok "--from after --to: exit 2, one line"
else
    t_fail "--from after --to" "exit $rc, stderr: $(head -c 300 "$T/err")"
fi

# 200,000 events (writes all over, a flush every 100, a mark every 50, a
# cut every 20,000): the picture stays bounded.
awk -v C="$C" -v D="$D2" 'BEGIN {
    print "{\"seq\":1,\"ns\":1,\"ev\":\"open\",\"file\":\"i\",\"size\":1073741824,\"line\":64,\"created\":true,\"policy\":\"lose-all\",\"seed\":0}"
    srand(1); s = 1
    for (i = 0; i < 200000; i++) {
        s++; ns = s * 1000
        if (i % 20000 == 19999)
            printf "{\"seq\":%d,\"ns\":%d,\"ev\":\"cut\",\"trigger\":\"manual\",\"policy\":\"lose-all\",\"seed\":1,\"lost\":%s,\"kept\":%s,\"torn\":%s,\"lost_ranges\":[[%d,4096]],\"kept_ranges\":[],\"torn_ranges\":[]}\n", s, ns, D, C, C, int(rand() * 262144) * 4096
        else if (i % 100 == 0)
            printf "{\"seq\":%d,\"ns\":%d,\"ev\":\"flush\",\"persisted\":%s}\n", s, ns, C
        else if (i % 50 == 0)
            printf "{\"seq\":%d,\"ns\":%d,\"ev\":\"mark\",\"text\":\"m%d\"}\n", s, ns, i
        else
            printf "{\"seq\":%d,\"ns\":%d,\"ev\":\"write\",\"off\":%d,\"len\":4096,\"fua\":false,\"dirtied\":%s,\"cleaned\":%s,\"persisted\":%s}\n", s, ns, int(rand() * 262144) * 4096, D, C, C
    }
}' >"$T/big.jsonl"
"$AUDIT" timeline "$T/big.jsonl" -o "$T/big.svg"
t_check "a 200,000-event timeline parses as XML" xmllint --noout "$T/big.svg"
shapes=$(grep -c '<rect\|<line' "$T/big.svg")
t_check "and draws a bounded number of shapes ($shapes < 40000)" test "$shapes" -lt 40000
t_check "marks are binned when there are thousands" \
    test "$(xmllint --xpath "count(//*[local-name()='g'][@class='marks'])" "$T/big.svg")" -gt 0
# expect_damaged NAME RC PATTERN: exit 2 and one stderr line ($T/err) matching.
expect_damaged() {
    if [ "$2" -eq 2 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -Eq "$3" "$T/err"; then
        t_ok "$1"
    else
        t_fail "$1" "exit $2, stderr: $(head -c 300 "$T/err")"
    fi
}

# A write past the device it describes (issue 12, 8): a damaged log, one
# line naming the seq, exit 2 (it overflowed the float-to-int pixel
# conversion); the same for a cut range past the device.
cat >"$T/past.jsonl" <<EOF2
{"seq":1,"ns":1000,"ev":"open","file":"img","size":65536,"line":64,"created":true,"policy":"lose-all","seed":0}
{"seq":2,"ns":2000,"ev":"write","off":0,"len":7090071992547409910,"fua":false,"dirtied":$D1,"cleaned":$C,"persisted":$C}
EOF2
"$AUDIT" timeline "$T/past.jsonl" -o "$T/past.svg" >"$T/out" 2>"$T/err"
expect_damaged "a write past the device: exit 2, one line naming seq 2" $? \
    'seq 2: write .*past the end of the device'
cat >"$T/pastcut.jsonl" <<EOF2
{"seq":1,"ns":1000,"ev":"open","file":"img","size":65536,"line":64,"created":true,"policy":"lose-all","seed":0}
{"seq":2,"ns":2000,"ev":"cut","trigger":"manual","policy":"lose-all","seed":7,"lost":$D1,"kept":$C,"torn":$C,"lost_ranges":[[1000000000000000000000,64]],"kept_ranges":[],"torn_ranges":[]}
EOF2
sed -i 's/1000000000000000000000/18446744073709551000/' "$T/pastcut.jsonl"
"$AUDIT" timeline "$T/pastcut.jsonl" -o "$T/past.svg" >"$T/out" 2>"$T/err"
expect_damaged "a cut range past the device: exit 2, one line naming seq 2" $? \
    'seq 2: lost_ranges .*past the end of the device'
t_done
