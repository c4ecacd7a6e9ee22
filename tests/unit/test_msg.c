/* test_msg.c - ccm_msg_parse (parser/msg.c) and the archive index. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "testlib.h"

static void parse(const char *text, struct ccm_msg *m)
{
	struct ccm_file f = mem_file(text, strlen(text));

	ccm_msg_init(m);
	assert_int_equal(ccm_msg_parse(&f, 0, f.size, m), 0);
}

static void test_headers_and_items(void **state)
{
	struct ccm_msg m;

	(void)state;
	parse("  message:\r\n  FROM: Grewal, Jeff at Hub\r\n"
	      "Subject:   spaced value   \r\nX-Odd Token: v\r\nContents:\r\n"
	      "Text Item:\r\n3\r\nabc\r\nFile item:  BUDGET.WK4 5/6/97 3:10PM \r\n"
	      "2\r\nxy\r\nWidget item: w\r\n1\r\nz",
	      &m);
	/* Tokens are case-insensitive and may be indented (SPEC 1.1). */
	assert_int_equal(m.nhdr, 3);
	assert_non_null(ccm_msg_header(&m, "from"));
	assert_slice_equal(ccm_msg_header(&m, "From")->value,
			   "Grewal, Jeff at Hub");
	assert_slice_equal(ccm_msg_header(&m, "SUBJECT")->value, "spaced value");
	assert_slice_equal(m.hdr[2].name, "X-Odd Token");
	assert_null(ccm_msg_header(&m, "Date"));
	assert_true(m.has_contents);
	assert_int_equal(m.nitems, 3);
	assert_int_equal(m.items[0].kind, CCM_ITEM_TEXT);
	assert_slice_equal(m.items[0].payload, "abc");
	assert_int_equal(m.items[1].kind, CCM_ITEM_FILE);
	assert_slice_equal(m.items[1].title, "BUDGET.WK4 5/6/97 3:10PM");
	assert_slice_equal(m.items[1].payload, "xy");
	/* CCQ-6: an unknown kind is an item (rendered as an attachment). */
	assert_int_equal(m.items[2].kind, CCM_ITEM_OTHER);
	assert_slice_equal(m.items[2].word, "Widget");
	assert_slice_equal(m.items[2].payload, "z");
	assert_int_equal(m.warn.n, 0);
	ccm_msg_release(&m);
}

static void test_stray_and_no_contents(void **state)
{
	struct ccm_msg m;

	(void)state;
	/* A stray line before Contents: is kept as a nameless header. */
	parse("Message:\r\nFrom: A\r\n??? odd line\r\nContents:\r\nText item:\r\n"
	      "body\r\n", &m);
	assert_int_equal(m.nhdr, 2);
	assert_int_equal(m.hdr[1].name.len, 0);
	assert_slice_equal(m.hdr[1].value, "??? odd line");
	assert_int_equal(m.warn.n, 1);
	assert_int_equal(m.warn.w[0].code, CCM_W_STRAY_LINE);
	ccm_msg_release(&m);

	/* CCQ-5: without Contents:, what follows the header is the body. */
	parse("Message:\r\nFrom: A\r\nthe body starts\r\nNote: still body\r\n", &m);
	assert_int_equal(m.nhdr, 1);
	assert_false(m.has_contents);
	assert_int_equal(m.nitems, 1);
	assert_slice_equal(m.items[0].payload,
			   "the body starts\r\nNote: still body\r\n");
	assert_int_equal(m.warn.n, 1);
	assert_int_equal(m.warn.w[0].code, CCM_W_NO_CONTENTS);
	ccm_msg_release(&m);
}

static void test_unsized_digits_are_text(void **state)
{
	struct ccm_msg m;

	(void)state;
	/* Without /ITEMSIZE a body that starts with a number keeps it; the
	 * last line end is the block separator. */
	parse("Message:\r\nFrom: A\r\nContents:\r\nText item:\r\n42\r\nrest\r\n", &m);
	assert_slice_equal(m.items[0].payload, "42\r\nrest");
	ccm_msg_release(&m);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	fwrite(text, 1, strlen(text), f);
	fclose(f);
}

/* Accounts merge by name across files (SPEC 1.2); coverage is measured. */
static void test_archive_accounts(void **state)
{
	char dir[] = "/tmp/ccm-arch-XXXXXX", a[64], b[64];
	const char *src[1];
	struct ccm_options o;
	struct ccm_archive *ar;
	size_t i, k;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(a, sizeof(a), "%s/one.ccm", dir);
	snprintf(b, sizeof(b), "%s/two.ccm", dir);
	write_file(a, "Message:\r\nFrom: x\r\nContents:\r\njunk here\r\n"
		      "Mailbox: shared\r\nMessage:\r\nFrom: y\r\nContents:\r\n");
	write_file(b, "Account: shared\r\nMessage:\r\nFrom: z\r\nContents:\r\n"
		      "\x1a");
	src[0] = dir;
	ccm_options_init(&o);
	assert_int_equal(ccm_archive_open(&ar, src, 1, &o), 0);
	assert_int_equal(ar->nfiles, 2);
	assert_int_equal(ar->naccounts, 2);	/* "one" and "shared" */
	assert_string_equal(ccm_archive_str(ar, ar->accounts[0].name), "one");
	assert_string_equal(ccm_archive_str(ar, ar->accounts[1].name), "shared");
	assert_int_equal(ar->accounts[1].nmsg, 2);
	/* Ordinals continue across files within one account. */
	assert_int_equal(ar->entries[ar->nentries - 1].ordinal, 2);
	for (i = 0; i < ar->nfiles; i++) {
		uint64_t sum = 0;

		for (k = 0; k < 5; k++)
			sum += ar->stats[i].bytes[k];
		assert_int_equal(sum, ar->files[i].size);
		assert_int_equal(ar->stats[i].gaps, 0);
		assert_int_equal(ar->stats[i].overlaps, 0);
	}
	/* Every entry renders to exactly its promised size. */
	for (i = 0; i < ar->nentries; i++) {
		struct ccm_buf out;

		ccm_buf_init(&out);
		assert_int_equal(ccm_archive_render(ar, i, &out), 0);
		assert_int_equal(out.len, ar->entries[i].size);
		ccm_buf_release(&out);
	}
	ccm_archive_free(ar);
	unlink(a);
	unlink(b);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_headers_and_items),
		cmocka_unit_test(test_stray_and_no_contents),
		cmocka_unit_test(test_unsized_digits_are_text),
		cmocka_unit_test(test_archive_accounts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
