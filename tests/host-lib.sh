# tests/host-lib.sh — shared set-up of the end-to-end runners of
# pmemcut-host: sources lib.sh, makes the private temp dir, checks the
# prerequisites, and defines:
#   run NAME ARGS...   pmemcut-host run into $T/NAME; sets RC, keeps stdout/stderr
#   jqr NAME FILTER    jq over that run's results, one value per cycle
#   show NAME          the run's stderr and stdout, for a failure's message
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_tmpdir
H=$TOP/build/san/host/pmemcut-host # the sanitizer build
t_require "$H" "$TOP/plugin/nbdkit-pmemcut-plugin.so" "$TOP/build/guest-initramfs.cpio.gz" \
    nbdkit nbdfuse fusermount3 qemu-system-x86_64 jq
export TMPDIR=$T # pmemcut-host's private runtime dir lands in ours

run() {
    local name=$1
    shift
    local t0=$SECONDS
    "$H" run "$@" --out "$T/$name" >"$T/$name.out" 2>"$T/$name.err"
    RC=$?
    echo "     ($name: exit $RC in $((SECONDS - t0)) s)"
}
jqr() { jq -r "$2" "$T/$1/results.jsonl"; }
show() { echo "--- $1:"; cat "$T/$1.err" "$T/$1.out"; }
