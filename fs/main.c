/*
 * main.c - the ccmailfs command line: --check, --extract, --help, --version.
 * Without --check or --extract the command mounts (fs/mount.c).
 *
 * Everything that can fail before work starts (options, sources) fails here
 * with one clear line on stderr and exit status 2.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccm.h"
#include "extract.h"
#include "fs.h"
#include "index.h"
#include "optlist.h"
#include "report.h"
#include "tree.h"

static const char usage_text[] =
	"usage: ccmailfs [options] SOURCE... MOUNTPOINT\n"
	"       ccmailfs --check [-o OPTS] SOURCE...\n"
	"       ccmailfs --extract DIR [--force] [-o OPTS] SOURCE...\n"
	"       ccmailfs --help | --version\n"
	"\n"
	"SOURCE is a cc:Mail export file (EXPORT.EXE output) or a directory of them.\n"
	"\n"
	"  --check            parse only and print the report; exit 0 clean,\n"
	"                     1 problems found, 2 unreadable input\n"
	"  --extract DIR      write the tree the mount shows into DIR\n"
	"  --force            with --extract: write into a non-empty DIR\n"
	"  -o OPT[,OPT...]    options:\n"
	"       codepage=N        DOS code page of the export (default 850)\n"
	"       tz=+HHMM          time zone of the post office (default: unknown, -0000)\n"
	"       dateorder=mdy|dmy|ymd   order of date fields (default mdy)\n"
	"       account=NAME      account name for a single source file\n"
	"       crlf              CRLF line ends in .eml files (default LF)\n"
	"       domain=PO=DOMAIN  map a post office to a real mail domain\n"
	"       layout=maildir    one Maildir++ per account (cur/new/tmp,\n"
	"                         .Folder dirs) for IMAP servers; default plain\n"
	"       index=PATH        (mount) where to keep the index (default:\n"
	"                         .EXPORT.ccmailfs-index beside the export, else\n"
	"                         $XDG_CACHE_HOME/ccmailfs/)\n"
	"       noindex           (mount) neither load nor save an index\n"
	"       norebuild         (mount) fail rather than rebuild the index\n"
	"       nopush            (mount) do not push files into the page\n"
	"                         cache ahead of sequential readers\n"
	"       keeppushed        (mount) keep pushed files in the page\n"
	"                         cache once the reader has passed them\n"
	"       nolistahead       (mount) do not list directories ahead of\n"
	"                         a reader walking the tree\n"
	"       noxattr           (mount) no user.ccmail.* xattrs: cp -a\n"
	"                         then copies without asking for them\n"
	"       spin=USEC         (mount) poll for requests USEC microseconds\n"
	"                         after each one, rendering ahead (default\n"
	"                         100; 0 never)\n"
	"  -h, --help         this text\n"
	"  -V, --version      the version\n"
	"\n"
	"Mount options (the rest of -o is passed to FUSE: allow_other, ...):\n"
	"  -f                 stay in the foreground\n"
	"  -d                 debug output (implies -f)\n"
	"  -s                 single-threaded\n"
	"Unmount with: fusermount3 -u MOUNTPOINT\n";

static int bad_usage(const char *msg, const char *arg)
{
	fprintf(stderr, "ccmailfs: %s%s%s\n", msg, arg ? ": " : "",
		arg ? arg : "");
	fprintf(stderr, "Try 'ccmailfs --help' for more information.\n");
	return 2;
}

static enum tree_layout layout = TREE_LAYOUT_PLAIN;

/* One option of -o for --check/--extract (fs/optlist.c splits them). */
static int set_one(void *ctx, const char *kv, const char *raw)
{
	struct ccm_options *o = ctx;
	struct index_opts ignored = { 0 };
	char err[256];
	int r;

	(void)raw;
	r = tree_layout_option(kv, &layout);
	if (r < 0)
		return bad_usage("layout must be plain or maildir", kv);
	if (r == 0)
		return 0;
	/* The mount's index options mean nothing to a one-shot run: the
	 * same -o works for both. */
	if (index_option(kv, &ignored) == 0) {
		free((char *)ignored.path);
		return 0;
	}
	r = ccm_options_set(o, kv, err, sizeof(err));
	if (r < 0)
		return bad_usage(err, NULL);
	if (r > 0)
		return bad_usage("unknown option", kv);
	return 0;
}

static int set_options(struct ccm_options *o, const char *list)
{
	int rc = optlist_each(list, set_one, o);

	return rc < 0 ? bad_usage("out of memory", NULL) : rc;
}

static int open_all(struct ccm_archive **a, struct tree **t,
		    struct ccm_buf *report, struct report_counts *rc,
		    char **src, size_t nsrc, const struct ccm_options *o)
{
	int err;

	err = ccm_archive_open(a, (const char *const *)src, nsrc, o);
	if (err) {
		fprintf(stderr, "ccmailfs: cannot read the sources: %s\n",
			ccm_strerror(err));
		return err;
	}
	err = tree_build(t, *a, layout);
	if (!err)
		err = report_build(*a, *t, report, rc);
	if (!err)
		err = tree_set_report(*t, report->p, report->len);
	if (err)
		fprintf(stderr, "ccmailfs: %s\n", ccm_strerror(err));
	return err;
}

int main(int argc, char **argv)
{
	struct ccm_options opt;
	struct ccm_archive *a = NULL;
	struct tree *t = NULL;
	struct ccm_buf report;
	struct report_counts rc;
	const char *extract_dir = NULL;
	char **src;
	size_t nsrc = 0;
	int i, check = 0, force = 0, status;

	/* Without --check or --extract, everything else is a mount. */
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--check") || !strcmp(argv[i], "--extract") ||
		    !strcmp(argv[i], "--help") || !strcmp(argv[i], "-h") ||
		    !strcmp(argv[i], "--version") || !strcmp(argv[i], "-V"))
			break;
		if (!strcmp(argv[i], "-o"))
			i++;
	}
	if (i >= argc)
		return ccmfs_mount_main(argc, argv);

	ccm_options_init(&opt);
	src = calloc((size_t)argc, sizeof(*src));
	if (!src)
		return bad_usage("out of memory", NULL);
	for (i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
			fputs(usage_text, stdout);
			return 0;
		} else if (!strcmp(arg, "--version") || !strcmp(arg, "-V")) {
			printf("ccmailfs %s\n", CCM_VERSION);
			return 0;
		} else if (!strcmp(arg, "--check")) {
			check = 1;
		} else if (!strcmp(arg, "--extract")) {
			if (++i >= argc)
				return bad_usage("--extract needs a directory", NULL);
			extract_dir = argv[i];
		} else if (!strcmp(arg, "--force")) {
			force = 1;
		} else if (!strcmp(arg, "-o")) {
			if (++i >= argc)
				return bad_usage("-o needs options", NULL);
			if ((status = set_options(&opt, argv[i])))
				return status;
		} else if (!strncmp(arg, "-o", 2)) {
			if ((status = set_options(&opt, arg + 2)))
				return status;
		} else if (!strcmp(arg, "--")) {
			while (++i < argc)
				src[nsrc++] = argv[i];
		} else if (arg[0] == '-' && arg[1]) {
			return bad_usage("unknown option", arg);
		} else {
			src[nsrc++] = argv[i];
		}
	}
	if (check && extract_dir)
		return bad_usage("--check and --extract cannot be combined", NULL);
	if (nsrc == 0)
		return bad_usage("no SOURCE given", NULL);

	ccm_buf_init(&report);
	if (open_all(&a, &t, &report, &rc, src, nsrc, &opt)) {
		status = 2;
		goto out;
	}
	if (check) {
		fwrite(report.p, 1, report.len, stdout);
		status = rc.unreadable || (a->nfiles == 0) ? 2
			 : rc.problems || !rc.coverage_ok ? 1 : 0;
	} else {
		char err[512];
		int e = extract_tree(t, extract_dir, force, err, sizeof(err));

		if (e) {
			fprintf(stderr, "ccmailfs: %s\n", err);
			status = 2;
		} else {
			fprintf(stderr,
				"ccmailfs: extracted %llu messages and %llu error "
				"entries into %s (%llu problems, see %s/%s)\n",
				(unsigned long long)rc.messages,
				(unsigned long long)rc.errors, extract_dir,
				(unsigned long long)rc.problems, extract_dir,
				TREE_REPORT_NAME);
			status = rc.unreadable ? 2 : rc.problems ? 1 : 0;
		}
	}
out:
	tree_free(t);
	ccm_archive_free(a);
	ccm_buf_release(&report);
	ccm_options_release(&opt);
	free(src);
	return status;
}
