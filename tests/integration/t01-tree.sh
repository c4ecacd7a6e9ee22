#!/bin/bash
# The mounted tree equals --extract of the same sources: names, bytes, sizes
# and mtimes; every file's stat size equals the bytes read.
. "$(dirname "$0")/lib.sh"

compare() { # NAME ARGS... (sources and options, as for both commands)
	name=$1
	shift
	"$CCMAILFS" --extract "$TMP/$name.x" "$@" 2>/dev/null || [ $? -eq 1 ] ||
		{ fail "$name: extract failed"; return; }
	mount_fs "$TMP/$name.m" "$@"
	if diff -r "$TMP/$name.x" "$TMP/$name.m" >"$TMP/diff" 2>&1; then
		ok "$name: same bytes"
	else
		fail "$name: contents differ"; head -5 "$TMP/diff"
	fi
	if [ "$(listing "$TMP/$name.x")" = "$(listing "$TMP/$name.m")" ]; then
		ok "$name: same names, sizes and mtimes"
	else
		fail "$name: names, sizes or mtimes differ"
		diff <(listing "$TMP/$name.x") <(listing "$TMP/$name.m") | head -5
	fi
	# stat size == bytes read, for every file
	bad=$(cd "$TMP/$name.m" && find . -type f -printf '%s %p\0' |
		while IFS=' ' read -r -d '' size path; do
			[ "$(wc -c < "$path")" = "$size" ] || echo "$path"
		done)
	[ -z "$bad" ] && ok "$name: sizes exact" || fail "$name: size != bytes: $bad"
	umount_fs "$TMP/$name.m"
}

compare fixtures "$SRCDIR"/tests/data/*.ccm
python3 "$SRCDIR/scripts/gen-export.py" --messages 2000 --accounts 3 \
	--seed 21 --quirks all --quirk-rate 0.3 --junk-rate 0.02 \
	--out "$TMP/gen.ccm" >/dev/null
compare generated "$TMP/gen.ccm"
compare options -o crlf,codepage=437,tz=+0130,dateorder=dmy "$TMP/gen.ccm"
mkdir "$TMP/srcdir"
cp "$SRCDIR"/tests/data/console.ccm "$SRCDIR"/tests/data/codepage.ccm "$TMP/srcdir/"
compare directory "$TMP/srcdir"

# Round trips a listing costs (fs/ops.c op_init): every entry's attributes
# in the listing (no LOOKUP), and a second listing of the whole tree served
# by the kernel's cache.  With the lister (fs/listahead.c), which follows
# readers through OPENDIR, one OPENDIR per directory opened until every
# directory is listed (then ENOSYS ends them: fewer than the 3 x ndirs
# opens of two ls -lR and a find), and at most a LOOKUP per directory (it
# starts ahead of the reader, and may list a folder whose account is not
# listed yet); without it no OPENDIR (NO_OPENDIR) and no LOOKUP.  ls -lR opens
# every directory: the lister lists ahead.
count() { grep -c "opcode: $1 " "$TMP/daemon.log" || true; }
# The lister needs two CPUs, the guard (a writable fusectl) and
# CAP_SYS_ADMIN (fs/listahead.c).
if [ "$(nproc)" -gt 1 ] && [ -w /sys/fs/fuse/connections ] &&
	[ "$(id -u)" = 0 ]; then
	modes="on off"
else
	modes=off
	echo "note: list ahead not checked (needs 2 CPUs, root, fusectl)"
fi
for la in $modes; do
	: >"$TMP/daemon.log"
	if [ $la = on ]; then
		mount_fs "$TMP/req.m" -d "$TMP/gen.ccm"
	else
		mount_fs "$TMP/req.m" -d -o nolistahead "$TMP/gen.ccm"
	fi
	ls -lR "$TMP/req.m" >"$TMP/ls1"
	ls -lR "$TMP/req.m" >"$TMP/ls2"
	cmp -s "$TMP/ls1" "$TMP/ls2" || fail "requests ($la): two listings differ"
	[ $la = on ] || [ ! -e "$TMP/ls-on" ] ||
		cmp -s "$TMP/ls1" "$TMP/ls-on" ||
		fail "requests: ls -lR differs with -o nolistahead"
	cp "$TMP/ls1" "$TMP/ls-$la"
	ndirs=$(find "$TMP/req.m" -type d | wc -l)
	# Directories' block size sizes readdir's buffer (fs/tree.c
	# tree_stat): room for 256 bytes an entry, a power of two from
	# 32 KiB to 1 MiB.
	f=$(find "$TMP/req.m" -type f -name '*.eml' -print -quit)
	want=
	for d in "$TMP/req.m" "$(dirname "$f")"; do
		b=32768
		while [ $b -lt 1048576 ] &&
			[ $b -lt $((($(ls -A "$d" | wc -l) + 2) * 256)) ]; do
			b=$((b * 2))
		done
		want="$want$b "
	done
	bs="$(stat -c %o "$TMP/req.m" "$(dirname "$f")" "$f" | tr '\n' ' ')"
	[ "$bs" = "${want}4096 " ] &&
		ok "block size: $bs(root, a folder, a file)" ||
		fail "block size: root, a folder, a file: $bs, want ${want}4096"
	umount_fs "$TMP/req.m"
	od=$(count OPENDIR) lk=$(count LOOKUP) rd=$(count READDIRPLUS)
	listed=$(sed -n 's/.*list ahead: .*, \([0-9]*\) directories listed/\1/p' \
		"$TMP/daemon.log")
	msg="$od OPENDIR, $lk LOOKUP, $rd READDIRPLUS for two ls -lR and a find of $ndirs directories; lister listed ${listed:-?}"
	if [ $la = on ]; then
		grep -q "list ahead: on" "$TMP/daemon.log" &&
		[ "$od" -ge "$ndirs" ] && [ "$od" -lt $((2 * ndirs)) ] &&
		[ "$lk" -le "$ndirs" ] &&
		[ "$rd" -gt 0 ] && [ "${listed:-0}" -gt 0 ] &&
			ok "requests, list ahead: $msg" ||
			fail "requests, list ahead: $msg"
	else
		grep -q "list ahead: off (-o nolistahead), 0 directories" \
			"$TMP/daemon.log" &&
		[ "$od" -le 1 ] && [ "$lk" = 0 ] && [ "$rd" -gt 0 ] &&
			ok "requests, -o nolistahead: $msg" ||
			fail "requests, -o nolistahead: $msg"
	fi
done
finish
