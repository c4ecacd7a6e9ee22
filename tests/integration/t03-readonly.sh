#!/bin/bash
# Writes fail with EROFS; modes 0444/0555 owned by the mounting user; statfs.
. "$(dirname "$0")/lib.sh"
mount_fs "$TMP/m" "$SRCDIR/tests/data/sample.ccm"
python3 "$(dirname "$0")/t03-readonly.py" "$TMP/m" || fail "read-only"
umount_fs "$TMP/m"
finish
