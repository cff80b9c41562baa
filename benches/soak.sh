#!/usr/bin/env bash
# Soak: repeat short runs of every model (CPU, I/O, process-pool and scene workloads) for a
# given time and report, at start and end, what a leak would grow: this shell's view of
# conlab's RSS, its open fds and threads (sampled mid-run from /proc), /dev/shm and /tmp
# entries, and conlab processes left behind.
#
#   benches/soak.sh [SECONDS] [CONLAB]      default: 600 s, target/release/conlab
#
# It prints one line per round and a summary; it exits 1 if anything was left behind.
set -u
secs=${1:-600}
bin=${2:-target/release/conlab}
[ -x "$bin" ] || { echo "soak: $bin is not built (cargo build --release)" >&2; exit 2; }

# conlab's temporary files go to a private TMPDIR, so others' files on the machine don't count.
soak_tmp=$(mktemp -d)
export TMPDIR=$soak_tmp
trap 'rm -rf "$soak_tmp"' EXIT
shm_count() { ls /dev/shm 2>/dev/null | grep -c conlab; }
tmp_count() { ls -A "$soak_tmp" 2>/dev/null | wc -l; }
left() { pgrep -f "$(basename "$bin") (worker|run|compare)" 2>/dev/null | wc -l; }

# One measured run: start it, sample its peak RSS, fds and threads from /proc while it runs.
sample_run() {
    "$bin" "$@" >/dev/null 2>&1 &
    local pid=$! rss=0 fds=0 thr=0 r f t
    while kill -0 "$pid" 2>/dev/null; do
        r=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
        f=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)
        t=$(ls "/proc/$pid/task" 2>/dev/null | wc -l)
        [ "${r:-0}" -gt "$rss" ] && rss=$r
        [ "$f" -gt "$fds" ] && fds=$f
        [ "$t" -gt "$thr" ] && thr=$t
        sleep 0.05
    done
    wait "$pid"
    local code=$?
    echo "$rss $fds $thr $code"
}

runs=(
    "run --workload primes --size 2000000 --model sequential"
    "run --workload primes --size 2000000 --model threads --workers 2"
    "run --workload primes --size 2000000 --model processes --workers 2"
    "run --workload sleep --tasks 40 --size 20 --model threads --workers 20"
    "run --workload http --tasks 100 --delay-ms 20 --model threads --workers 50"
    "run --workload files --model processes --workers 2"
    "run --workload tiny --tasks 2000 --model processes --workers 2"
    "run --workload payload --variant shm --model processes --workers 2"
    "run --workload recycle --model processes --workers 2"
)

shm0=$(shm_count); tmp0=$(tmp_count); left0=$(left)
echo "soak: ${secs}s of ${#runs[@]} run kinds with $bin"
echo "start: /dev/shm conlab entries $shm0, entries in its TMPDIR $tmp0, conlab processes $left0"
end=$((SECONDS + secs)); round=0; failures=0
first_rss=(); last_rss=()
while [ $SECONDS -lt $end ]; do
    round=$((round + 1)); line="round $round:"
    for i in "${!runs[@]}"; do
        # shellcheck disable=SC2086
        read -r rss fds thr code < <(sample_run ${runs[$i]})
        [ "$code" -ne 0 ] && failures=$((failures + 1)) && echo "  exit $code: ${runs[$i]}"
        [ -z "${first_rss[$i]:-}" ] && first_rss[$i]=$rss
        last_rss[$i]=$rss
        line="$line $((rss / 1024))M/${fds}fd/${thr}t"
        [ $SECONDS -ge $end ] && break
    done
    echo "$line"
done
shm1=$(shm_count); tmp1=$(tmp_count); left1=$(left)
echo "end:   /dev/shm conlab entries $shm1, entries in its TMPDIR $tmp1, conlab processes $left1"
echo "rounds $round, failed runs $failures"
for i in "${!runs[@]}"; do
    [ -n "${last_rss[$i]:-}" ] && printf '  peak RSS first %6d KiB, last %6d KiB  %s\n' \
        "${first_rss[$i]}" "${last_rss[$i]}" "${runs[$i]}"
done
[ "$shm1" -gt "$shm0" ] || [ "$tmp1" -gt "$tmp0" ] || [ "$left1" -gt "$left0" ] && { echo "soak: something was left behind"; exit 1; }
exit 0
