# Sourced by every t.* script.
set -e
run_root() { $FAKEROOT "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
# Removes a file with a raw system call: no preload library sees it (what
# fakeroot's tests do with LD_PRELOAD=, which sb2's exec restores).
raw_unlink() { python3 -c 'import ctypes,sys; l=ctypes.CDLL(None, use_errno=True); sys.exit(l.syscall(87, sys.argv[1].encode()) != 0)' "$1"; }
