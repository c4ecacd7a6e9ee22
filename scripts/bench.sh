#!/bin/bash
# Benchmark ccmailfs against the same .eml tree served by tmpfs (the physical
# limit) and by FUSE peers (squashfuse and squashfuse_ll over an uncompressed
# squashfs image, fuse-zip over a stored zip; archivemount over a tar when
# fuse-zip is missing).  SPEC section 6.  Needs root (drop_caches, tmpfs).
#
# usage: scripts/bench.sh [--scales 10000,100000,300000] [--runs N]
#                         [--out FILE] [--no-big] [--no-build]
#                         [--report-only RESULTS.tsv]
#
#   --scales  message counts, comma separated (default 10000,100000,300000)
#   --runs    runs per workload (default 5; scales >= 300000 use at most 3)
#   --out     Markdown report (default $BENCH_DIR/report.md); raw per-run
#             figures go to the same name with .tsv
#   --report-only TSV   rebuild the report from an earlier results file
#   --no-big  skip the memory check with ~2 MB and ~20 MB attachments
#   --no-build  use the ccmailfs binary in BUILD_DIR as it is (pin it
#             across invocations); default: meson compile first
#
# Environment: BENCH_DIR (cache of exports, trees and images; default
# /var/tmp/ccmailfs-bench), BUILD_DIR (default build-bench), READS (random
# open+read samples per run, default 200), PEERS (the peers to run, space
# separated; default all).  Exports, trees, images are kept
# and reused; trees and images are rebuilt when the ccmailfs binary changes.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

scales=10000,100000,300000
runs=5
out=
report_only=
big=1
nobuild=0
while [ $# -gt 0 ]; do
	case $1 in
	--scales) scales=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--report-only) report_only=$2; shift 2 ;;
	--no-big) big=0; shift ;;
	--no-build) nobuild=1; shift ;;
	-h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done

bdir=${BENCH_DIR:-/var/tmp/ccmailfs-bench}
build=${BUILD_DIR:-build-bench}
reads=${READS:-200}
mkdir -p "$bdir"
[ -n "$out" ] || out=$bdir/report.md
case $out in /*) ;; *) out=$top/$out ;; esac
tsv=${out%.md}.tsv

# ---------------------------------------------------------------- report
report() { # report TSV MD
	python3 - "$1" "$2" <<'PY'
import sys, statistics as st, collections
tsv, md = sys.argv[1], sys.argv[2]
R = collections.defaultdict(list)   # (scale, system, workload) -> values
meta = {}
big = []
for line in open(tsv):
    p = line.rstrip('\n').split('\t')
    if p[0] == 'big':
        big.append([float(x) for x in p[1:]]); continue
    if p[0] == 'meta':
        meta[(int(p[1]), p[2])] = p[3]; continue
    R[(int(p[0]), p[1], p[2])].append(float(p[4]))
scales = sorted({k[0] for k in R})
systems = ['ccmailfs', 'tmpfs', 'squashfuse', 'squashfuse_ll', 'fuse-zip', 'archivemount']
def med(s, sys_, w):
    v = R.get((s, sys_, w))
    return st.median(v) if v else None
def fmt_t(x):
    if x is None: return '–'
    if x >= 1: return f'{x:.2f} s'
    if x >= 1e-3: return f'{x*1e3:.1f} ms'
    return f'{x*1e6:.0f} µs'
def fmt_r(a, b):
    return '–' if a is None or b is None or b == 0 else f'{a/b:.2f}×'
W = [('mount_first_cold', 'first mount until root lists: no index, page cache dropped'),
     ('mount_first_warm', 'first mount: no index, export page-cached (read by `cat`)'),
     ('mount_first_aftercold', 'first mount: no index, export page-cached by the cold mount before'),
     ('mount_first_again', 'first mount: no index, export page-cached and mapped by a mount before (steady state)'),
     ('mount_first_full', 'first mount until every account lists (the whole scan): no index, page-cached'),
     ('mount_idx_cold', 'remount with index, page cache dropped'),
     ('mount_idx_warm', 'remount with index, page-cached'),
     ('find_f', '`find -type f \\| wc -l`'),
     ('find_s', "`find -printf '%s\\n'`"),
     ('tar', '`tar cf - . \\| cat`'),
     ('rsync1', '`rsync -a MNT/ tmpfs/` (first)'),
     ('rsync2', '`rsync -a` repeat'),
     ('rand', 'one random file open+read (median of @N@)'),
     ]
o = []
P = o.append
targets = []
for s in scales:
    present = [x for x in systems if any(k[0] == s and k[1] == x for k in R)]
    peers = [x for x in present if x not in ('ccmailfs', 'tmpfs')]
    nmsg = int(meta.get((s, 'messages'), s)); files = int(meta.get((s, 'files'), 0))
    tbytes = int(meta.get((s, 'tree_bytes'), 0)); ebytes = int(meta.get((s, 'export_bytes'), 0))
    nruns = meta.get((s, 'runs'), '?')
    P(f'\n### {s:,} messages\n')
    P(f'Export {ebytes/1e6:.0f} MB ({ebytes/max(nmsg,1)/1e3:.1f} kB/message), '
      f'tree {files:,} files, {tbytes/1e6:.0f} MB; medians of {nruns} runs; '
      f'ratio = ccmailfs time / other time (below 1: ccmailfs faster).\n')
    cat = med(s, 'export', 'cat')
    catc = med(s, 'export', 'cat_cold')
    if cat:
        P(f'`cat EXPORT > /dev/null`: page-cached **{fmt_t(cat)}** ({ebytes/cat/1e6:.0f} MB/s); '
          f'cold {fmt_t(catc)} ({ebytes/catc/1e6:.0f} MB/s)\n')
    hdr = '| workload | ' + ' | '.join(present) + ' | ' + ' | '.join('vs ' + x for x in present if x != 'ccmailfs') + ' |'
    P(hdr); P('|' + '---|' * (1 + 2 * len(present) - 1))
    for w, label in W:
        label = label.replace('@N@', meta.get((s, 'reads'), '?'))
        row = [fmt_t(med(s, x, w)) for x in present]
        rat = [fmt_r(med(s, 'ccmailfs', w), med(s, x, w)) for x in present if x != 'ccmailfs']
        P(f'| {label} | ' + ' | '.join(row) + ' | ' + ' | '.join(rat) + ' |')
    # throughput and memory rows
    row = []
    for x in present:
        t = med(s, x, 'tar'); row.append(f'{tbytes/t/1e6:.0f} MB/s' if t else '–')
    P('| tar throughput | ' + ' | '.join(row) + ' |' + ' |' * (len(present) - 1))
    row = []
    for x in present:
        t = med(s, x, 'rsync1'); row.append(f'{files/t:,.0f} files/s' if t else '–')
    P('| first rsync rate | ' + ' | '.join(row) + ' |' + ' |' * (len(present) - 1))
    row = []
    for x in present:
        m = R.get((s, x, 'rss_peak'))
        row.append(f'{max(m)/2**20:.1f} MiB' if m else '–')
    P('| daemon peak RssAnon during tar (max over runs) | ' + ' | '.join(row) + ' |' + ' |' * (len(present) - 1))
    row = []
    for x in present:
        m = R.get((s, x, 'rss_mount'))
        row.append(f'{max(m)/2**20:.1f} MiB' if m else '–')
    P('| daemon RssAnon right after mount | ' + ' | '.join(row) + ' |' + ' |' * (len(present) - 1))
    xfer = R.get((s, 'ccmailfs', 'rsync2_files'), [])
    P('')
    # ---- targets
    c = lambda w: med(s, 'ccmailfs', w)
    def tline(n, ok, text): targets.append((s, n, 'met' if ok else '**not met**', text))
    mf, mfc, mi, mic = c('mount_first_warm'), c('mount_first_cold'), c('mount_idx_warm'), c('mount_idx_cold')
    mff, mfa = c('mount_first_full'), c('mount_first_again')
    if mf and cat:
        tline(1, mf <= 1.5 * cat and mi is not None and mi < 0.05,
              f'first mount (no index, export page-cached) {fmt_t(mf)} = {mf/cat:.1f}× page-cached `cat` ({fmt_t(cat)}), limit 1.5× '
              f'[steady state, the export mapped by a mount before: {fmt_t(mfa)} = {(mfa or 0)/cat:.1f}×] '
              f'[cold cache: {fmt_t(mfc)} = {mfc/catc:.1f}× cold `cat`; every account listed: {fmt_t(mff)} = {(mff or 0)/cat:.1f}×]; '
              f'remount with index {fmt_t(mi)} (page-cached; cold cache {fmt_t(mic)}), limit 50 ms')
    fs_ = c('find_s'); tm = med(s, 'tmpfs', 'find_s')
    if fs_ and tm:
        pr = {x: med(s, x, 'find_s') for x in peers}
        ok = fs_ <= 2 * tm and all(v and fs_ < v for v in pr.values())
        tline(2, ok, f'`find -printf %s` {fmt_t(fs_)} = {fs_/tm:.2f}× tmpfs (limit 2×); vs ' +
              ', '.join(f'{x} {fmt_t(v)} ({fs_/v:.2f}×)' for x, v in pr.items()))
    ta = c('tar'); tm = med(s, 'tmpfs', 'tar')
    if ta and tm:
        pr = {x: med(s, x, 'tar') for x in peers}
        ok = ta <= 2 * tm and all(v and ta < v for v in pr.values())
        tline(3, ok, f'`tar` {tbytes/ta/1e6:.0f} MB/s = {tm/ta*100:.0f} % of tmpfs ({tbytes/tm/1e6:.0f} MB/s; limit 50 %); vs ' +
              ', '.join(f'{x} {tbytes/v/1e6:.0f} MB/s' for x, v in pr.items()))
    r1 = c('rsync1'); tm = med(s, 'tmpfs', 'rsync1')
    if r1 and tm:
        ok = r1 <= 1.5 * tm and xfer and max(xfer) == 0
        tline(4, ok, f'repeat rsync transferred {int(max(xfer)) if xfer else "?"} files (max over runs; '
              f'repeat {fmt_t(c("rsync2"))}); first rsync {fmt_t(r1)} = {r1/tm:.2f}× tmpfs ({fmt_t(tm)}), limit 1.5×')
    m = R.get((s, 'ccmailfs', 'rss_peak'))
    if m:
        lim = 16 * 2**20 + 100 * nmsg
        pk = max(m)
        tline(5, pk < lim, f'peak RssAnon {pk/2**20:.1f} MiB = {pk/nmsg:.0f} B/message; limit {lim/2**20:.1f} MiB '
              f'(16 MiB + 100 B × {nmsg:,})')
P('\n### Targets\n')
P('| scale | target | result | figures |'); P('|---|---|---|---|')
for s, n, ok, text in targets:
    P(f'| {s:,} | ({n}) | {ok} | {text} |')
# memory growth across scales
pk = [(s, max(R[(s, 'ccmailfs', 'rss_peak')])) for s in scales if R.get((s, 'ccmailfs', 'rss_peak'))]
if len(pk) > 1:
    P('\nccmailfs peak RssAnon by scale: ' + ', '.join(
        f'{s:,}: {v/2**20:.1f} MiB ({v/s:.0f} B/msg)' for s, v in pk))
for nf, eb, tb, mx, rss, t in big:
    lim = 16 * 2**20 + 100 * nf
    P(f'\nLarge attachments: {int(nf)} messages, export {eb/1e6:.0f} MB, tree {tb/1e6:.0f} MB, '
      f'largest .eml {mx/1e6:.1f} MB; `tar` {fmt_t(t)} ({tb/t/1e6:.0f} MB/s); ccmailfs peak RssAnon '
      f'**{rss/2**20:.1f} MiB** (target (5) limit {lim/2**20:.1f} MiB: '
      f'{"met" if rss < lim else "**not met**"}).')
if len(big) > 1:
    lo, hi = min(big, key=lambda b: b[3]), max(big, key=lambda b: b[3])
    P(f'\nPeak RssAnon against the largest message: {lo[3]/1e6:.1f} MB -> {lo[4]/2**20:.1f} MiB, '
      f'{hi[3]/1e6:.1f} MB -> {hi[4]/2**20:.1f} MiB '
      f'({"flat" if hi[4] < lo[4] * 1.5 + 2**20 else "**grows**"} with message size).')
text = '\n'.join(o) + '\n'
open(md, 'w').write(text)
print(text)
PY
}

if [ -n "$report_only" ]; then
	report "$report_only" "$out"
	exit 0
fi

[ "$(id -u)" = 0 ] || { echo "bench.sh: run as root (drop_caches, tmpfs mounts)" >&2; exit 2; }
# One benchmark at a time: two would share the cache and skew each other.
exec 9>"$bdir/.lock"
flock -n 9 || { echo "bench.sh: another bench.sh is running on $bdir" >&2; exit 2; }
mroot=$bdir/mnt.$$
mkdir -p "$mroot"

# ---------------------------------------------------------------- setup
need=()
command -v mksquashfs >/dev/null || need+=(squashfs-tools)
command -v squashfuse >/dev/null || need+=(squashfuse)
command -v zip >/dev/null || need+=(zip)
command -v hyperfine >/dev/null || need+=(hyperfine)
command -v rsync >/dev/null || need+=(rsync)
command -v fuse-zip >/dev/null || need+=(fuse-zip)
if [ ${#need[@]} -gt 0 ]; then
	apt-get update -qq || true
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null ||
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq archivemount squashfs-tools squashfuse zip rsync >/dev/null
fi
if command -v fuse-zip >/dev/null; then
	archpeer=fuse-zip
else
	command -v archivemount >/dev/null ||
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq archivemount >/dev/null
	archpeer=archivemount
fi
peers=(squashfuse)
command -v squashfuse_ll >/dev/null && peers+=(squashfuse_ll)
peers+=("$archpeer")
# PEERS="squashfuse_ll" (or "" for none) narrows a quick comparison; the
# figures for the targets need all of them.
if [ -n "${PEERS+set}" ]; then
	read -r -a want <<<"$PEERS"
	for w in "${want[@]}"; do
		case " ${peers[*]} " in
		*" $w "*) ;;
		*) echo "bench.sh: PEERS: $w is not one of: ${peers[*]}" >&2; exit 2 ;;
		esac
	done
	peers=("${want[@]}")
fi
if [ "$nobuild" = 0 ]; then
	[ -d "$build" ] || meson setup "$build" >/dev/null
	meson compile -C "$build" >/dev/null
fi
ccm=$top/$build/fs/ccmailfs
binsum=$(sha256sum "$ccm" | cut -c1-16)

# ---------------------------------------------------------------- helpers
sampler=
cleanup() { # unmount everything this run mounted ($mroot), stop daemons
	local m pid
	if [ -n "$sampler" ]; then kill "$sampler" 2>/dev/null || true; fi
	for m in "$mroot"/fs "$mroot"/dst "$mroot"/tmpfs-*; do
		if mountpoint -q "$m" 2>/dev/null; then
			pid=$(daemon_pid "$m")
			umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
			if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
		fi
	done
	rm -rf "$mroot" 2>/dev/null || true
	return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

elapsed() { python3 -c "print(f'{$2-$1:.6f}')"; }
rec() { [ -n "$3" ] || { log "no figure for $1 $2 (run $run)"; return 0; }; printf '%s\t%s\t%s\t%s\t%s\n' "$scale" "$1" "$2" "$run" "$3" >>"$tsv"; }
meta() { printf 'meta\t%s\t%s\t%s\n' "$scale" "$1" "$2" >>"$tsv"; }
dropcaches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

# The daemon serving MNT: a process whose command line ends with " MNT".
daemon_pid() {
	local p
	for p in $(pgrep -f -- " $1\$" || true); do
		case $(cat "/proc/$p/comm" 2>/dev/null) in
		ccmailfs|squashfuse*|fuse-zip|archivemount) echo "$p"; return ;;
		esac
	done
}

do_mount() { # SYSTEM MNT
	case $1 in
	ccmailfs) "$ccm" -o "index=$idx" "$export" "$2" ;;
	squashfuse) squashfuse "$img" "$2" ;;
	squashfuse_ll) squashfuse_ll "$img" "$2" ;;
	fuse-zip) fuse-zip -r "$zipf" "$2" ;;
	archivemount) archivemount -o readonly "$tarf" "$2" ;;
	esac
}

backing() { # SYSTEM -> the file its mount reads
	case $1 in
	ccmailfs) echo "$export" ;;
	squashfuse|squashfuse_ll) echo "$img" ;;
	fuse-zip) echo "$zipf" ;;
	archivemount) echo "$tarf" ;;
	esac
}

do_umount() { # MNT: unmount and wait for the daemon to exit
	local pid
	pid=$(daemon_pid "$1")
	umount "$1" 2>/dev/null || fusermount3 -u "$1" 2>/dev/null || umount -l "$1" 2>/dev/null || true
	if [ -n "$pid" ]; then
		for _ in $(seq 100); do
			if [ ! -d "/proc/$pid" ]; then return 0; fi
			sleep 0.05
		done
		kill "$pid" 2>/dev/null || true
	fi
}

# Time SYSTEM's mount until the root lists (with "full": until every
# directory under the root lists too; ccmailfs's first mount serves the
# root while its scan runs, and those wait for the scan).
time_mount() { # SYSTEM MNT [full] -> seconds
	local t0 t1
	# $EPOCHREALTIME inline: until session 9 each end was a $(now),
	# read 4-5 ms into a forked subshell; the two mostly cancelled, but
	# added jitter.
	t0=$EPOCHREALTIME; do_mount "$1" "$2" >/dev/null 2>&1; ls "$2" >/dev/null
	if [ "${3:-}" = full ]; then ls "$2"/*/ >/dev/null; fi
	t1=$EPOCHREALTIME
	elapsed "$t0" "$t1"
}

# Timed command: tm CMD... -> seconds on stdout (command output discarded)
tm() {
	local t0 t1
	t0=$EPOCHREALTIME
	if "$@" >/dev/null; then
		t1=$EPOCHREALTIME; elapsed "$t0" "$t1"
	else
		log "failed: $*"
	fi
}

w_find_f() { find "$1" -type f | wc -l; }
w_find_s() { find "$1" -printf '%s\n' >/dev/null; }
w_tar() { (cd "$1" && tar cf - . | cat >/dev/null); }

randread() { # ROOT LIST N -> median seconds of one open+read
	python3 - "$1" "$2" "$3" "$run" <<'PY'
import os, sys, random, time, statistics
root, lst, n, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
names = open(lst).read().split('\n')[:-1]
rnd = random.Random(1000 + seed)
ts = []
for rel in rnd.sample(names, min(n, len(names))):
    p = os.path.join(root, rel)
    t0 = time.perf_counter()
    fd = os.open(p, os.O_RDONLY)
    while os.read(fd, 1 << 20):
        pass
    os.close(fd)
    ts.append(time.perf_counter() - t0)
print(f'{statistics.median(ts):.6f}')
PY
}

# Sample RssAnon of PID into FILE (max, bytes) until killed.
# Bash builtins only (no awk or sleep processes every 20 ms): the sampler
# runs during a timed workload and must not take CPU from it.
pagesize=$(getconf PAGESIZE)
start_sampler() { # PID FILE
	(
		max=0 fifo=$bdir/sampler.$$.$BASHPID
		mkfifo "$fifo"
		exec 3<>"$fifo"
		rm -f "$fifo"
		# statm's resident minus shared (file and shmem pages) is
		# RssAnon, in one short line instead of status's 57.
		while [ -r "/proc/$1/statm" ]; do
			v=0
			if read -r _ res shr _ <"/proc/$1/statm" 2>/dev/null; then
				v=$(( (res - shr) * pagesize ))
			fi
			if [ "$v" -gt "$max" ]; then max=$v; echo "$max" >"$2"; fi
			read -r -t 0.02 -u 3 _ || true
		done
	) &
	sampler=$!
}
stop_sampler() { kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true; sampler=; }

log() { echo "[$(date +%T)] $*" >&2; }

# ---------------------------------------------------------------- data
prepare() { # scale -> sets export, tree, img, zipf, tarf, tmpdir
	local n=$1 acc=12 fol=6
	export=$bdir/export-$n.ccm
	if [ ! -s "$export" ]; then
		log "generating $export"
		python3 scripts/gen-export.py --messages "$n" --accounts $acc --folders $fol \
			--seed 6 --attach-rate 0.3 --avg-attach-kb 19 --quirks all \
			--quirk-rate 0.05 --out "$export.tmp" >&2
		mv "$export.tmp" "$export"
	fi
	idx=$bdir/index-$n.ccmailfs-index
	tree=$bdir/tree-$n
	img=$bdir/tree-$n.sqfs
	zipf=$bdir/tree-$n.zip
	tarf=$bdir/tree-$n.tar
	if [ "$(cat "$tree.stamp" 2>/dev/null)" != "$binsum" ]; then
		log "extracting $tree and building images"
		rm -rf "$tree" "$img" "$zipf" "$tarf" "$tree.list"
		"$ccm" --extract "$tree" "$export" >&2 || [ $? = 1 ]
		mksquashfs "$tree" "$img" -noI -noD -noF -noX -no-xattrs -noappend -quiet >/dev/null
		if [ "$archpeer" = fuse-zip ]; then
			(cd "$tree" && zip -0 -r -q "$zipf" .)
		else
			(cd "$tree" && tar cf "$tarf" .)
		fi
		(cd "$tree" && find . -type f -name '*.eml' | sed 's|^\./||') >"$tree.list"
		echo "$binsum" >"$tree.stamp"
	fi
	tmpdir=$mroot/tmpfs-$n
	mkdir -p "$tmpdir"
	if ! mountpoint -q "$tmpdir"; then
		mount -t tmpfs -o size=$(( $(du -sm "$tree" | cut -f1) * 2 + 256 ))m tmpfs "$tmpdir"
	fi
	rm -rf "${tmpdir:?}"/* ; cp -a "$tree"/. "$tmpdir"/
	dst=$mroot/dst
	mkdir -p "$dst"
	if ! mountpoint -q "$dst"; then
		mount -t tmpfs -o size=$(( $(du -sm "$tree" | cut -f1) * 2 + 256 ))m tmpfs "$dst"
	fi
}

# ---------------------------------------------------------------- run
: >"$tsv"
{
	echo "# $(date -Is) ccmailfs $(git -C "$top" rev-parse --short HEAD 2>/dev/null) binary $binsum"
	echo "# $(nproc) cpus; $(uname -r); load: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$tsv.log"

IFS=, read -r -a scale_list <<<"$scales"
for scale in "${scale_list[@]}"; do
	nr=$runs
	if [ "$scale" -ge 300000 ] && [ "$nr" -gt 3 ]; then nr=3; fi
	prepare "$scale"
	meta messages "$(grep -c '' "$tree.list")"
	meta files "$(find "$tree" -type f | wc -l)"
	meta tree_bytes "$(du -sb --apparent-size "$tree" | cut -f1)"
	meta export_bytes "$(stat -c %s "$export")"
	meta runs "$nr"
	meta reads "$reads"
	meta load_start "$(cut -d' ' -f1-3 /proc/loadavg)"
	systems=(ccmailfs tmpfs "${peers[@]}")
	mnt=$mroot/fs
	mkdir -p "$mnt"
	log "scale $scale: $nr runs, systems ${systems[*]}"
	for run in $(seq "$nr"); do
		# Reference: reading the export, cold and page-cached.
		dropcaches
		rec export cat_cold "$(tm cat "$export")"
		cat "$export" >/dev/null
		rec export cat "$(tm cat "$export")"
		for sys in "${systems[@]}"; do
			log "scale $scale run $run: $sys"
			if [ "$sys" = tmpfs ]; then
				root=$tmpdir
			else
				# First mount, cold: no index (ccmailfs), page cache dropped.
				rm -f "$idx"
				dropcaches
				t=$(time_mount "$sys" "$mnt")
				rec "$sys" mount_first_cold "$t"
				do_umount "$mnt"
				if [ "$sys" = ccmailfs ]; then
					# First mount, no index, the export page-cached by
					# the cold mount above: its faults on the mapping
					# left small folios in page cache, and mapping them
					# again costs ~13x the faults (BENCHMARKS, session 8).
					rm -f "$idx"
					rec "$sys" mount_first_aftercold "$(time_mount "$sys" "$mnt")"
					do_umount "$mnt"
					# First mount, export page-cached as `cat` (the
					# target's reference) leaves it: read twice, as
					# the reference is the second of two reads, whose
					# program is in page cache too; so is ours (after
					# drop_caches, loading it and libfuse from disk
					# took 80-120 ms of the first mount at 100k).
					rm -f "$idx"
					dropcaches
					cat "$export" >/dev/null
					cat "$export" >/dev/null
					"$ccm" --version >/dev/null
					rec "$sys" mount_first_warm "$(time_mount "$sys" "$mnt")"
					do_umount "$mnt"
					# The same, again: on this VM the first user
					# mapping of page cache filled after a cold mount
					# costs ~3x, for any mmap reader (BENCHMARKS,
					# session 9); this is the steady state.
					rm -f "$idx"
					rec "$sys" mount_first_again "$(time_mount "$sys" "$mnt")"
					do_umount "$mnt"
					rm -f "$idx"
					rec "$sys" mount_first_full "$(time_mount "$sys" "$mnt" full)"
					do_umount "$mnt"
					# Remount with the index, page cache dropped.
					dropcaches
					rec "$sys" mount_idx_cold "$(time_mount "$sys" "$mnt")"
					do_umount "$mnt"
				else
					rec "$sys" mount_idx_cold "$t"
				fi
				# Remount with index (peers: their image is the index),
				# everything page-cached.
				t=$(time_mount "$sys" "$mnt")
				rec "$sys" mount_idx_warm "$t"
				if [ "$sys" != ccmailfs ]; then rec "$sys" mount_first_warm "$t"; fi
				pid=$(daemon_pid "$mnt")
				if [ -n "$pid" ]; then
					rec "$sys" rss_mount "$(awk '/^RssAnon:/ {print $2*1024}' "/proc/$pid/status")"
				fi
				do_umount "$mnt"
				root=$mnt
				# The index remounts above never read the export, so
				# after the last drop_caches it (or a peer's image) is
				# not in page cache: without this the copies below
				# would read it from disk (up to 2x slower tar at 100k
				# in session 4, for ccmailfs and the peers alike).
				cat "$(backing "$sys")" >/dev/null
			fi
			# Each workload on a fresh mount (the kernel's FUSE caches empty),
			# backing files page-cached; tmpfs is always "warm".
			for w in find_f find_s tar rsync rand; do
				if [ "$sys" != tmpfs ]; then
					do_mount "$sys" "$mnt" >/dev/null 2>&1
					ls "$mnt" >/dev/null
					pid=$(daemon_pid "$mnt")
				fi
				case $w in
				find_f) rec "$sys" find_f "$(tm w_find_f "$root")" ;;
				find_s) rec "$sys" find_s "$(tm w_find_s "$root")" ;;
				tar)
					rssf=$bdir/rss.$$
					: >"$rssf"
					if [ "$sys" != tmpfs ] && [ -n "$pid" ]; then
						start_sampler "$pid" "$rssf"
					fi
					rec "$sys" tar "$(tm w_tar "$root")"
					if [ -n "${sampler:-}" ]; then
						stop_sampler
						rec "$sys" rss_peak "$(cat "$rssf")"
					fi
					rm -f "$rssf"
					;;
				rsync)
					rm -rf "${dst:?}"/*
					rec "$sys" rsync1 "$(tm rsync -a "$root"/ "$dst"/)"
					st=$bdir/rsync.$$
					t0=$EPOCHREALTIME; rsync -a --stats "$root"/ "$dst"/ >"$st" || log "failed: repeat rsync"; t1=$EPOCHREALTIME
					rec "$sys" rsync2 "$(elapsed "$t0" "$t1")"
					rec "$sys" rsync2_files "$(awk -F': ' '/Number of regular files transferred/ {gsub(/,/,"",$2); print $2}' "$st")"
					rm -f "$st"
					rm -rf "${dst:?}"/*
					;;
				rand) rec "$sys" rand "$(randread "$root" "$tree.list" "$reads")" ;;
				esac
				if [ "$sys" != tmpfs ]; then do_umount "$mnt"; fi
			done
		done
	done
	meta load_end "$(cut -d' ' -f1-3 /proc/loadavg)"
	umount "$tmpdir" 2>/dev/null || true
	# Sized for this scale's tree: the next scale mounts its own.
	umount "$dst" 2>/dev/null || true
	rm -rf "${dst:?}"/*
	rmdir "$tmpdir" 2>/dev/null || true
done

# Memory against message size: the same tar over exports whose messages
# carry ~2 MB and ~20 MB attachments, ccmailfs only, peak RssAnon.
if [ "$big" = 1 ]; then
	scale=0; run=1
	for spec in 2000:300:7 20000:30:8; do
		kb=${spec%%:*}; rest=${spec#*:}; nmsg=${rest%%:*}; seed=${rest#*:}
		bexp=$bdir/export-bigattach-$kb.ccm
		if [ ! -s "$bexp" ]; then
			log "generating $bexp"
			python3 scripts/gen-export.py --messages "$nmsg" --accounts 2 \
				--folders 2 --seed "$seed" --attach-rate 1 \
				--avg-attach-kb "$kb" --quirks none --out "$bexp.tmp" >&2
			mv "$bexp.tmp" "$bexp"
		fi
		mnt=$mroot/fs
		mkdir -p "$mnt"
		"$ccm" -o "index=$bdir/index-bigattach-$kb.ccmailfs-index" "$bexp" "$mnt" 2>/dev/null
		ls "$mnt" >/dev/null
		pid=$(daemon_pid "$mnt")
		rssf=$bdir/rss.$$
		: >"$rssf"
		start_sampler "$pid" "$rssf"
		t=$(tm w_tar "$mnt")
		stop_sampler
		maxf=$(find "$mnt" -type f -name '*.eml' -printf '%s\n' | sort -n | tail -n 1)
		nf=$(find "$mnt" -type f -name '*.eml' | wc -l)
		tb=$(find "$mnt" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
		printf 'big\t%s\t%s\t%s\t%s\t%s\t%s\n' "$nf" "$(stat -c %s "$bexp")" "$tb" "$maxf" "$(cat "$rssf")" "$t" >>"$tsv"
		rm -f "$rssf"
		do_umount "$mnt"
	done
fi
report "$tsv" "$out"
