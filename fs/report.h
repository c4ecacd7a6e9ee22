/*
 * report.h - the readable report: sources, accounts, folders, counts, every
 * problem with file, byte offset and line, and the byte-coverage proof.
 * Printed by --check and served as the summary file at the mount's root.
 * Deterministic: no clock, no timings, no absolute paths of the caller.
 */
#ifndef CCMFS_REPORT_H
#define CCMFS_REPORT_H

#include "ccm.h"
#include "tree.h"

struct report_counts {
	uint64_t problems;	/* warnings + error entries + bad sources */
	uint64_t messages, errors, warnings;
	uint64_t bytes, covered;
	int unreadable;		/* a source could not be read */
	int coverage_ok;	/* every byte of every file accounted for */
};

int report_build(const struct ccm_archive *a, const struct tree *t,
		 struct ccm_buf *out, struct report_counts *c);

/*
 * The report's last line says whether the sources still match the index.
 * It has a fixed length, so it can be rewritten in place when a source
 * changes under a mount without changing the report's size.
 */
#define REPORT_STATUS_LEN 200
void report_status_line(const struct ccm_archive *a,
			char line[REPORT_STATUS_LEN]);

#endif
