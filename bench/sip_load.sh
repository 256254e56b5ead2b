#!/usr/bin/env bash
# SIP load benchmark (issue 4, item 8): SIPp places calls (INVITE → 200 → ACK → BYE over
# UDP on loopback) at increasing rates against
#   (a) ours:     bench/examples/sip_answerer.rs — a transport-sip endpoint that accepts
#                 every incoming session through session-core, and
#   (b) sipp-uas: SIPp answering itself (`sipp -sn uas`),
# alternating between the two at each rate so they share the machine's conditions; each
# run gets a freshly started server.
# For each run it reads SIPp's statistics (-trace_stat) and per-call response times
# (-trace_rtt: INVITE sent → 200 received, the setup time) and prints a table, then the
# highest rate each side held (zero failed calls and at least HELD_PERCENT of the offered
# rate achieved) and the ratio ours / sipp-uas.
#
# Usage: bench/sip_load.sh            (see the settings below; all can be overridden)
#   RATES="500 1000 2000"  STEP_SECONDS=5  BUFF=4194304  THREADS=0  OUT=/tmp/dir
#   ANSWERER_ARGS="--t1-ms 10"   (diagnostic: see bench/examples/sip_answerer.rs)
#
# Every process it starts is bounded in time (SIPp -timeout plus coreutils `timeout`, the
# answerer --duration) and killed by PID on exit. Loopback only.

set -uo pipefail

RATES=${RATES:-"500 1000 1500 2000 3000 4000 6000 8000 10000 12000"}
# A rate is held when no call failed and SIPp achieved at least this share of it.
HELD_PERCENT=${HELD_PERCENT:-95}
STEP_SECONDS=${STEP_SECONDS:-5}      # each run places rate × STEP_SECONDS calls
BUFF=${BUFF:-4194304}                # SIPp -buff_size (SO_RCVBUF/SO_SNDBUF), both SIPp sides
THREADS=${THREADS:-0}                # answerer runtime: 0 = current-thread, N = N workers
OURS_PORT=${OURS_PORT:-15070}
UAS_PORT=${UAS_PORT:-15080}
UAC_PORT_BASE=${UAC_PORT_BASE:-15100} # each SIPp UAC run gets its own source port
RECV_TIMEOUT_MS=${RECV_TIMEOUT_MS:-5000} # a call waiting longer than this for a message fails
MAX_FAILING_STEPS=${MAX_FAILING_STEPS:-2} # stop a side after this many failing rates in a row
OUT=${OUT:-$(mktemp -d /tmp/sip_load.XXXXXX)}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET_DIR/release/examples/sip_answerer

# Upper bound of one server's life (one run).
LIFETIME=$((STEP_SECONDS + RECV_TIMEOUT_MS / 1000 + 30))

# Processes started and not yet reaped: only these are ever signalled (a reaped PID may
# belong to someone else by now).
pids=()
forget_pid() {
    local keep=() pid
    for pid in "${pids[@]}"; do [ "$pid" = "$1" ] || keep+=("$pid"); done
    pids=("${keep[@]}")
}
cleanup() {
    exec 3>&-
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    sleep 0.2
    for pid in "${pids[@]}"; do
        kill -KILL "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "sip_load: $*" >&2; exit 1; }

command -v sipp >/dev/null || die "sipp is not on PATH (Debian package sip-tester)"
mkdir -p "$OUT"
echo "sip_load: results in $OUT" >&2

# Build the answerer.
(cd "$ROOT" && exec cargo build --release -q -p bench --example sip_answerer) &
build=$!
pids+=("$build")
wait "$build" || die "build failed"
forget_pid "$build"
[ -x "$BIN" ] || die "no binary at $BIN"

# UDP datagrams the kernel dropped for a full receive buffer, machine-wide (RcvbufErrors).
rcvbuf_errors() {
    awk '/^Udp:/ { if (!n++) { for (i = 2; i <= NF; i++) col[$i] = i } else print $col["RcvbufErrors"] }' \
        /proc/net/snmp
}

# CPU seconds (user + system) a process has used so far, from /proc.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
CLK_TCK=$(getconf CLK_TCK)

# Servers are started afresh for every run, so no run inherits the previous one's state
# (our stack keeps each completed server transaction for 64×T1 = 32 s).
# start_server SIDE PORT → sets SERVER_PID (and, for ours, fd 3 → its stdin fifo).
start_server() {
    local side=$1 port=$2 dir=$3
    if [ "$side" = ours ]; then
        mkfifo "$dir/ours.ctl"
        # shellcheck disable=SC2086 # ANSWERER_ARGS is a word list on purpose
        "$BIN" --port "$port" --duration "$LIFETIME" --threads "$THREADS" ${ANSWERER_ARGS:-} \
            <"$dir/ours.ctl" >"$dir/server.log" 2>&1 &
        SERVER_PID=$!
        pids+=("$SERVER_PID")
        exec 3>"$dir/ours.ctl"
        for _ in $(seq 100); do
            grep -q '^ready' "$dir/server.log" 2>/dev/null && return 0
            kill -0 "$SERVER_PID" 2>/dev/null || die "answerer exited: $(cat "$dir/server.log")"
            sleep 0.1
        done
        die "answerer not ready"
    else
        (cd "$dir" && exec sipp -sn uas -i 127.0.0.1 -p "$port" -buff_size "$BUFF" -nostdin \
            -timeout "${LIFETIME}s" >"$dir/server.log" 2>&1 3>&-) &
        SERVER_PID=$!
        pids+=("$SERVER_PID")
        sleep 0.5
        kill -0 "$SERVER_PID" 2>/dev/null || die "sipp uas exited: $(cat "$dir/server.log")"
    fi
}

# stop_server SIDE: ours gets stdin EOF and prints its counters; SIPp is killed.
stop_server() {
    if [ "$1" = ours ]; then
        exec 3>&-
        for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    fi
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    forget_pid "$SERVER_PID"
}

uac_port=$UAC_PORT_BASE
# run_uac NAME PORT RATE → sets RESULT="failed achieved p50 p99 max retrans cpu% 503s drops"
run_uac() {
    local name=$1 port=$2 rate=$3
    local dir=$OUT/$name-$rate calls=$((rate * STEP_SECONDS))
    local bound=$((STEP_SECONDS + RECV_TIMEOUT_MS / 1000 + 5))
    mkdir -p "$dir"
    start_server "$name" "$port" "$dir"
    uac_port=$((uac_port + 1))
    local cpu0 t0 t1 cpu1 drops0 drops1
    drops0=$(rcvbuf_errors)
    cpu0=$(cpu_ticks "$SERVER_PID")
    t0=$(date +%s.%N)
    (cd "$dir" && exec timeout -k 2 $((bound + 5)) sipp -sn uac "127.0.0.1:$port" \
        -i 127.0.0.1 -p "$uac_port" -s bob -r "$rate" -rp 1000 -m "$calls" -l 15000 \
        -buff_size "$BUFF" -nostdin -recv_timeout "$RECV_TIMEOUT_MS" -timeout "${bound}s" \
        -trace_stat -stf stat.csv -fd 1 -trace_rtt -rtt_freq 1000 -trace_err \
        -error_file errors.log >sipp.out 2>&1 3>&-) &
    local uac=$!
    pids+=("$uac")
    wait "$uac"
    forget_pid "$uac"
    t1=$(date +%s.%N)
    cpu1=$(cpu_ticks "$SERVER_PID")
    drops1=$(rcvbuf_errors)
    stop_server "$name"
    # Statistics: the last line of stat.csv, columns found by name.
    local stats
    stats=$(awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
        { last = $0 }
        END {
            split(last, v, ";")
            printf "%d %d %.0f %d\n", v[col["SuccessfulCall(C)"]], v[col["FailedCall(C)"]],
                v[col["CallRate(C)"]], v[col["Retransmissions(C)"]]
        }' "$dir/stat.csv" 2>/dev/null)
    [ -n "$stats" ] || stats="0 0 0 0"
    local ok sipp_failed achieved retrans
    read -r ok sipp_failed achieved retrans <<<"$stats"
    # Calls SIPp never completed (timed out, never placed) count as failed too.
    local failed=$((calls - ok))
    # Setup time percentiles (nearest rank) over every call's INVITE → 200 time.
    local pct
    pct=$(cat "$dir"/*_rtt.csv 2>/dev/null | awk -F';' '$3 == 1 { print $2 }' | sort -n |
        awk '{ v[NR] = $1 }
            END {
                if (NR == 0) { print "- - -"; exit }
                i50 = int(NR * 0.50 + 0.999999); i99 = int(NR * 0.99 + 0.999999)
                printf "%s %s %s\n", v[i50], v[i99], v[NR]
            }')
    local cpu busy
    cpu=$(awk -v a="$cpu0" -v b="$cpu1" -v t0="$t0" -v t1="$t1" -v hz="$CLK_TCK" \
        'BEGIN { printf "%.0f", 100 * (b - a) / hz / (t1 - t0) }')
    # Calls refused with 503 (our transaction layer's overload answer).
    busy=$(grep -c "received 'SIP/2.0 503" "$dir/errors.log" 2>/dev/null)
    RESULT="$failed $achieved $pct $retrans $cpu ${busy:-0} $((drops1 - drops0))"
}

declare -A result
best_ours=0 best_uas=0 fail_ours=0 fail_uas=0 i=0
for rate in $RATES; do
    i=$((i + 1))
    # Alternate which side goes first at each rate.
    if ((i % 2)); then order="ours sipp-uas"; else order="sipp-uas ours"; fi
    for side in $order; do
        if [ "$side" = ours ]; then
            if ((fail_ours >= MAX_FAILING_STEPS)); then result[$side,$rate]="skipped"; continue; fi
            run_uac ours "$OURS_PORT" "$rate"
        else
            if ((fail_uas >= MAX_FAILING_STEPS)); then result[$side,$rate]="skipped"; continue; fi
            run_uac sipp-uas "$UAS_PORT" "$rate"
        fi
        r=$RESULT
        result[$side,$rate]=$r
        echo "sip_load: rate $rate $side: failed achieved p50 p99 max retrans cpu% 503s rcvbuf-drops = $r" >&2
        read -r failed achieved _ <<<"$r"
        # Held: no failed call, and the calls completed at (nearly) the offered rate — a
        # server that falls behind may fail nothing while SIPp retransmits and slows down.
        held=0
        if ((failed == 0 && achieved * 100 >= rate * HELD_PERCENT)); then held=1; fi
        if [ "$side" = ours ]; then
            if ((held)); then ((fail_ours == 0)) && best_ours=$rate; else fail_ours=$((fail_ours + 1)); fi
        else
            if ((held)); then ((fail_uas == 0)) && best_uas=$rate; else fail_uas=$((fail_uas + 1)); fi
        fi
    done
done

fmt() { # failed achieved p50 p99 max retrans cpu 503s drops → table cells
    if [ "$1" = skipped ]; then echo "| skipped | | | | | |"; return; fi
    read -r f a p50 p99 max re cpu busy drops <<<"$1"
    echo "| $f$( ((busy > 0)) && echo " ($busy × 503)") | $a | $p50 / $p99 / $max | $re | $drops | $cpu% |"
}
echo
echo "Calls per run: rate × $STEP_SECONDS; fresh servers per run; SIPp -buff_size $BUFF on" \
    "every SIPp socket, SipConfig defaults on ours; answerer threads: $THREADS (0 = current-thread)," \
    "extra answerer args: '${ANSWERER_ARGS:-}'; setup = INVITE → 200 in whole ms (SIPp rtd; its clock may tick coarser)."
echo
echo "| rate (calls/s) | ours failed | ours achieved | ours setup p50 / p99 / max (ms) | ours retrans | ours rcvbuf drops | ours CPU" \
    "| sipp-uas failed | sipp-uas achieved | sipp-uas setup p50 / p99 / max (ms) | sipp-uas retrans | sipp-uas rcvbuf drops | sipp-uas CPU |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for rate in $RATES; do
    a=$(fmt "${result[ours,$rate]:-skipped}")
    b=$(fmt "${result[sipp-uas,$rate]:-skipped}")
    echo "| $rate $a${b#|}"
done
echo
ratio=$(awk -v a="$best_ours" -v b="$best_uas" 'BEGIN { if (b > 0) printf "%.0f%%", 100 * a / b; else print "n/a" }')
echo "rcvbuf drops: machine-wide UDP RcvbufErrors during the run (other users of UDP count too);" \
    "CPU: the server process's user+system time over the run's wall time (100% = one core)."
echo "Highest rate held (zero failed calls, at least $HELD_PERCENT% of the rate achieved; every lower rate also held):" \
    "ours $best_ours calls/s, sipp-uas $best_uas calls/s, ratio $ratio."
echo "Answerer counters per run:"
grep -H '^counters' "$OUT"/ours-*/server.log | sed "s|$OUT/||; s|/server.log:| |" | sort -t- -k2 -n
