/* SPDX-License-Identifier: Apache-2.0 */
/*
 * out_svg: well-formed XML for hostile names, the frame budget, empty
 * profiles, deterministic bytes and colours, and (tagged "integration")
 * the embedded JavaScript driven by headless Chromium: search, ignore
 * case, click-zoom, orientation and URL state checked against the profile.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "flamegraph_assets.h"
#include "out_svg.h"
#include "test_util.h"
#include "tests.h"

#define CHROMIUM "/usr/bin/chromium"

struct mem_out {
	char *buf;
	size_t len;
	int ret;
};

static struct mem_out render(const struct profile *p,
			     const struct out_svg_opts *o)
{
	struct mem_out m = { NULL, 0, 0 };
	FILE *f = open_memstream(&m.buf, &m.len);

	ck_assert_ptr_nonnull(f);
	m.ret = out_svg__write(p, f, o);
	fclose(f);
	return m;
}

/* Occurrences of @needle in @s; linear, also under ASan's strstr. */
static size_t count_str(const char *s, const char *needle)
{
	size_t n = 0, l = strlen(needle), len = strlen(s);

	for (size_t i = 0; i + l <= len; i++)
		n += s[i] == needle[0] && !memcmp(s + i, needle, l);
	return n;
}

/* A path under build/ for this test, unique per process. */
static void out_path(char *buf, size_t len, const char *name)
{
	char cwd[PATH_MAX / 2];

	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	snprintf(buf, len, "%s/build/out_svg-%s-%d.svg", cwd, name, (int)getpid());
}

static void assert_well_formed(const char *path)
{
	char cmd[PATH_MAX + 128], *out = NULL, *err = NULL;
	int rc;

	snprintf(cmd, sizeof(cmd), "python3 -c 'import xml.dom.minidom,sys; "
		 "xml.dom.minidom.parse(sys.argv[1])' '%s'", path);
	rc = tu_run(cmd, 60, &out, &err);
	ck_assert_msg(rc == 0, "%s is not well-formed XML (exit %d): %s", path,
		      rc, err ? err : "");
	free(out);
	free(err);
}

/* Push a stack of (function, file, line, class) frames with @count. */
static void add_stack(struct profile *p, const char *const *names, size_t n,
		      const char *file, enum prof_class cls, uint64_t count)
{
	uint32_t ids[64];

	ck_assert_uint_le(n, 64);
	for (size_t i = 0; i < n; i++)
		ids[i] = profile__frame_id(p, names[i], file, (int)i + 1, cls);
	profile__add(p, profile__stack_id(p, ids, n), count);
}

static const char *const hostile[] = {
	"semi;colon", "with space", "<&>\"'", "\"quoted\" 'single'",
	"\xf0\x9f\x94\xa5 fire \xf0\x9f\x90\x8d", "ctl\x01\x02\x1b[0m\x7f",
	"bad\xff\xfe\xc0\xaf\xed\xa0\x80 bytes", "nonchar\xef\xbf\xbe\xef\xbf\xbf",
	"name 123", "", "cut\xe2\x82", "]]> <!-- -->", "&amp; &#0; &#x1;",
	"\xf0\x9f\x90\x8d\xf0\x9f\x90\x8d\xf0\x9f\x90\x8d\xf0\x9f\x90\x8d"
	"\xf0\x9f\x90\x8d\xf0\x9f\x90\x8d\xf0\x9f\x90\x8d\xf0\x9f\x90\x8d\xff",
};
#define NHOSTILE (sizeof(hostile) / sizeof(hostile[0]))

START_TEST(test_hostile_names_well_formed)
{
	struct profile *p = profile__new();
	struct out_svg_opts o = { .title = "t\x01i\x0bt<le>\xff & \"x\"",
				  .subtitle = "sub\x1ftitle ]]> \xc3" };
	char path[PATH_MAX];
	struct mem_out m;

	for (size_t i = 0; i < NHOSTILE; i++) {
		/* Each name as function and as file, wide and very narrow. */
		add_stack(p, &hostile[i], 1, hostile[NHOSTILE - 1 - i],
			  (enum prof_class)(i % PROF__NCLASS), 50);
		add_stack(p, hostile, i + 1, "x.py", PROF_APP, 1);
	}
	add_stack(p, hostile, NHOSTILE, hostile[2], PROF_SITE, 2000);
	profile__set_meta(p, "meta\x02title", "meta\xffsub");
	m = render(p, &o);
	ck_assert_int_eq(m.ret, 0);
	out_path(path, sizeof(path), "hostile");
	tu_write_file(path, m.buf);
	assert_well_formed(path);
	ck_assert_ptr_nonnull(strstr(m.buf, "&lt;&amp;&gt;&quot;&apos;"));
	ck_assert_ptr_null(strstr(m.buf, "\xff"));
	ck_assert_uint_eq(count_str(m.buf, "]]>"), 2);
	free(m.buf);
	/* Titles from the profile's metadata take the same path. */
	m = render(p, NULL);
	ck_assert_int_eq(m.ret, 0);
	tu_write_file(path, m.buf);
	assert_well_formed(path);
	unlink(path);
	free(m.buf);
	profile__free(p);
}
END_TEST

/* 200,000 distinct stacks: 5,000 branches of 8 frames and 40 leaves. */
static struct profile *wide_profile(void)
{
	struct profile *p = profile__new();
	uint32_t ids[10], leaves[40];
	char name[32];

	for (int k = 0; k < 40; k++) {
		snprintf(name, sizeof(name), "leaf_%d", k);
		leaves[k] = profile__frame_id(p, name, "leaf.py", 1, PROF_APP);
	}
	ids[0] = profile__frame_id(p, "main", "app.py", 1, PROF_APP);
	for (int b = 0; b < 5000; b++) {
		for (int d = 1; d < 9; d++) {
			snprintf(name, sizeof(name), "f_%d_%d", b, d);
			ids[d] = profile__frame_id(p, name, "mod.py", d, PROF_SITE);
		}
		for (int k = 0; k < 40; k++) {
			ids[9] = leaves[k];
			profile__add(p, profile__stack_id(p, ids, 10), 1 + b % 7);
		}
	}
	return p;
}

/* N in the subtitle's "N frames narrower than X% hidden". */
static size_t hidden_in_subtitle(const char *svg)
{
	const char *sub = strstr(svg, "<text id=\"subtitle\"");
	const char *s = sub ? strstr(sub, " narrower than ") : NULL;
	size_t n = 0;

	ck_assert_msg(s && strstr(s, "% hidden</text>"),
		      "no pruning note in the subtitle");
	while (s > sub && s[-1] != ' ')
		s--;                   /* back over "frames" */
	for (s--; s > sub && (s[-1] == ',' || (s[-1] >= '0' && s[-1] <= '9'));)
		s--;                   /* back over the number */
	for (; *s != ' '; s++)
		if (*s != ',')
			n = n * 10 + (size_t)(*s - '0');
	return n;
}

START_TEST(test_prune_caps_frames)
{
	struct profile *p = wide_profile();
	struct out_svg_opts o = { .subtitle = "wide" };
	struct mem_out m;
	size_t frames, hidden;

	ck_assert_uint_eq(profile__nstacks(p), 200000);
	m = render(p, &o);
	ck_assert_int_eq(m.ret, 0);
	frames = count_str(m.buf, "<g><title>");
	hidden = hidden_in_subtitle(m.buf);
	ck_assert_uint_le(frames, OUT_SVG_MAX_FRAMES);
	/*
	 * 0.01% is 80 of 799,800 samples: 4,285 branches of 8 frames pass,
	 * too many.  The cut drops whole widths: the 80-sample branches go,
	 * the 3,570 wider ones stay, with root and main.
	 */
	ck_assert_uint_eq(frames, 2 + 3570 * 8);
	ck_assert_uint_eq(frames + hidden, 2 + 5000 * 8 + 5000 * 40);
	ck_assert_ptr_nonnull(strstr(m.buf, "wide \xe2\x80\x94 "));
	free(m.buf);
	profile__free(p);
}
END_TEST

START_TEST(test_prune_small_budget_and_min_width)
{
	static const char *const chain[] = { "a", "b", "c", "d", "e", "f" };
	struct profile *p = profile__new();
	struct out_svg_opts o = { .max_frames = 4 };
	struct mem_out m;

	add_stack(p, chain, 6, "x.py", PROF_APP, 10);
	add_stack(p, chain, 3, "x.py", PROF_APP, 1);
	m = render(p, NULL);
	ck_assert_int_eq(m.ret, 0);
	ck_assert_uint_eq(count_str(m.buf, "<g><title>"), 7);
	ck_assert_ptr_null(strstr(m.buf, "hidden"));
	free(m.buf);
	/* A budget of 4 keeps root, a, b and c (11 samples each). */
	m = render(p, &o);
	ck_assert_uint_eq(count_str(m.buf, "<g><title>"), 4);
	ck_assert_uint_eq(hidden_in_subtitle(m.buf), 3);
	free(m.buf);
	o.max_frames = 0;
	o.min_width_pct = 95;
	m = render(p, &o);
	ck_assert_uint_eq(count_str(m.buf, "<g><title>"), 4);
	ck_assert_ptr_nonnull(strstr(m.buf, "3 frames narrower than 95% hidden"));
	free(m.buf);
	/* The root is always drawn, whatever the limits. */
	o.min_width_pct = 200;
	m = render(p, &o);
	ck_assert_uint_eq(count_str(m.buf, "<g><title>"), 1);
	ck_assert_uint_eq(hidden_in_subtitle(m.buf), 6);
	free(m.buf);
	o.min_width_pct = 0;
	o.max_frames = 1;
	m = render(p, &o);
	ck_assert_uint_eq(count_str(m.buf, "<g><title>"), 1);
	ck_assert_uint_eq(hidden_in_subtitle(m.buf), 6);
	free(m.buf);
	profile__free(p);
}
END_TEST

START_TEST(test_empty_profile_writes_nothing)
{
	struct profile *p = profile__new();
	uint32_t id = profile__frame_id(p, "f", "x.py", 1, PROF_APP);
	struct out_svg_opts bad = { .min_width_pct = -1 };
	struct mem_out m;

	m = render(p, NULL);
	ck_assert_int_eq(m.ret, -ENODATA);
	ck_assert_uint_eq(m.len, 0);
	free(m.buf);
	profile__stack_id(p, &id, 1);
	m = render(p, NULL);
	ck_assert_int_eq(m.ret, -ENODATA);
	ck_assert_uint_eq(m.len, 0);
	free(m.buf);
	profile__add(p, 0, 1);
	m = render(p, &bad);
	ck_assert_int_eq(m.ret, -EINVAL);
	ck_assert_uint_eq(m.len, 0);
	free(m.buf);
	ck_assert_int_eq(out_svg__write(NULL, stdout, NULL), -EINVAL);
	ck_assert_int_eq(out_svg__write(p, NULL, NULL), -EINVAL);
	profile__free(p);
}
END_TEST

START_TEST(test_write_error_reported)
{
	static const char *const st[] = { "main", "work" };
	struct profile *p = profile__new();
	FILE *f = fopen("/dev/full", "w");

	ck_assert_ptr_nonnull(f);
	add_stack(p, st, 2, "x.py", PROF_APP, 3);
	ck_assert_int_lt(out_svg__write(p, f, NULL), 0);
	fclose(f);
	profile__free(p);
}
END_TEST

static const char *const det_stacks[][4] = {
	{ "main", "run", "work", NULL }, { "main", "run", NULL, NULL },
	{ "main", "load", "parse", "json" }, { "idle", NULL, NULL, NULL },
	{ "main", "load", "Parse", NULL }, { "main", "b", "c", NULL },
};
#define NDET (sizeof(det_stacks) / sizeof(det_stacks[0]))

static struct profile *det_profile(bool reversed)
{
	struct profile *p = profile__new();

	for (size_t k = 0; k < NDET; k++) {
		size_t i = reversed ? NDET - 1 - k : k, n = 0;

		while (n < 4 && det_stacks[i][n])
			n++;
		add_stack(p, det_stacks[i], n, "m.py", PROF_APP, 3 + i);
	}
	profile__set_meta(p, "det", "sub");
	return p;
}

START_TEST(test_deterministic_output)
{
	struct profile *a = det_profile(false), *b = det_profile(true);
	struct mem_out m1 = render(a, NULL), m2 = render(a, NULL);
	struct mem_out m3 = render(b, NULL);

	ck_assert_int_eq(m1.ret, 0);
	ck_assert_uint_eq(m1.len, m2.len);
	ck_assert_int_eq(memcmp(m1.buf, m2.buf, m1.len), 0);
	/* Insertion order does not matter either: siblings sort by label. */
	ck_assert_uint_eq(m1.len, m3.len);
	ck_assert_int_eq(memcmp(m1.buf, m3.buf, m1.len), 0);
	ck_assert(strstr(m1.buf, "<title>Parse (") &&
		  strstr(m1.buf, "<title>Parse (") < strstr(m1.buf, "<title>parse ("));
	free(m1.buf);
	free(m2.buf);
	free(m3.buf);
	profile__free(a);
	profile__free(b);
}
END_TEST

/* The fill of the first frame whose title starts with @prefix. */
static void fill_of(const char *svg, const char *prefix, char out[8])
{
	char key[128];
	const char *s;

	snprintf(key, sizeof(key), "<title>%s", prefix);
	s = strstr(svg, key);
	ck_assert_msg(s != NULL, "no frame '%s'", prefix);
	s = strstr(s, "fill=\"#");
	ck_assert_ptr_nonnull(s);
	memcpy(out, s + 6, 7);
	out[7] = '\0';
}

START_TEST(test_colour_stable_per_function)
{
	static const char *const sa[] = { "main", "handle_request" };
	static const char *const sb[] = { "worker", "loop", "x", "handle_request" };
	struct profile *a = profile__new(), *b = profile__new();
	struct mem_out ma, mb;
	char ca[8], cb[8], cc[8];

	add_stack(a, sa, 2, "app.py", PROF_APP, 5);
	add_stack(b, sb, 4, "other/server.py", PROF_APP, 700);
	add_stack(b, sb, 2, "other/server.py", PROF_STDLIB, 1);
	ma = render(a, NULL);
	mb = render(b, NULL);
	fill_of(ma.buf, "handle_request (", ca);
	fill_of(mb.buf, "handle_request (", cb);
	ck_assert_str_eq(ca, cb);
	/* Another class: another hue for the same name. */
	fill_of(mb.buf, "worker (other/server.py:1) (700", cb);
	fill_of(mb.buf, "worker (other/server.py:1) (1 ", cc);
	ck_assert_str_ne(cb, cc);
	free(ma.buf);
	free(mb.buf);
	profile__free(a);
	profile__free(b);
}
END_TEST

/* Labels are cut at code points, never inside a UTF-8 sequence. */
START_TEST(test_label_cut_at_code_points)
{
	static const char *const snakes[] = {
		"\xf0\x9f\x90\x8d\xf0\x9f\x90\x8d\xf0\x9f\x90\x8d\xf0\x9f\x90\x8d"
		"\xf0\x9f\x90\x8d\xf0\x9f\x90\x8d\xf0\x9f\x90\x8d\xf0\x9f\x90\x8d"
	};
	static const char *const bad[] = { "\xff\xff\xff\xff\xff\xff\xff\xff\xff" };
	static const char *const rest[] = { "rest" };
	struct profile *p = profile__new();
	uint32_t a = profile__frame_id(p, snakes[0], "", 0, PROF_APP);
	uint32_t b = profile__frame_id(p, bad[0], "", 0, PROF_APP);
	struct mem_out m;

	/* 51 of 1,000 samples: 60 px at 1,180 px, room for 7 characters. */
	profile__add(p, profile__stack_id(p, &a, 1), 51);
	profile__add(p, profile__stack_id(p, &b, 1), 51);
	add_stack(p, rest, 1, "r.py", PROF_APP, 898);
	m = render(p, NULL);
	ck_assert_int_eq(m.ret, 0);
	ck_assert_ptr_nonnull(strstr(m.buf, ">\xf0\x9f\x90\x8d\xf0\x9f\x90\x8d"
		"\xf0\x9f\x90\x8d\xf0\x9f\x90\x8d\xf0\x9f\x90\x8d..</text>"));
	ck_assert_ptr_nonnull(strstr(m.buf, ">\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
		"\xef\xbf\xbd\xef\xbf\xbd..</text>"));
	ck_assert_ptr_nonnull(strstr(m.buf, "<title>\xef\xbf\xbd\xef\xbf\xbd"
		"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
		"\xef\xbf\xbd\xef\xbf\xbd (51 samples, 5.10%)</title>"));
	free(m.buf);
	profile__free(p);
}
END_TEST

START_TEST(test_assets_fit_in_cdata)
{
	ck_assert_ptr_null(strstr(flamegraph_js, "]]>"));
	ck_assert_ptr_null(strstr(flamegraph_css, "]]>"));
	ck_assert_ptr_nonnull(strstr(flamegraph_js, "window.peekaFlame"));
}
END_TEST

/* ---- headless browser ---- */

/* Stacks for the browser test; "dispatch" occurs once in the tree. */
static const char *const br_stacks[][5] = {
	{ "main", "dispatch", "work_item", NULL, NULL },
	{ "main", "dispatch", "worker_loop", "work_item", NULL },
	{ "main", "dispatch", "parse", NULL, NULL },
	{ "main", "dispatch", "Work_upper", "helper", NULL },
	{ "main", "setup", "worker_loop", "compute", "work_step" },
	{ "main", "setup", "load", NULL, NULL },
	{ "main", "idle", NULL, NULL, NULL },
	{ "gc", "Work_gc", NULL, NULL, NULL },
};
#define NBR (sizeof(br_stacks) / sizeof(br_stacks[0]))
static const uint64_t br_counts[NBR] = { 30, 17, 11, 7, 13, 19, 23, 5 };

static size_t br_len(size_t s)
{
	size_t n = 0;

	while (n < 5 && br_stacks[s][n])
		n++;
	return n;
}

static bool br_match(const char *name, bool icase)
{
	return icase ? !strncasecmp(name, "work", 4) : !strncmp(name, "work", 4);
}

struct br_expect {
	double matched, matched_ic, zmatched;
	size_t count, count_ic, hidden;
};

/* Distinct prefixes = tree nodes; count those ending in a match. */
static size_t br_count(bool icase, size_t *nodes, size_t *under_dispatch)
{
	char keys[64][128];
	size_t n = 0, hits = 0;

	*nodes = *under_dispatch = 0;
	for (size_t s = 0; s < NBR; s++)
		for (size_t j = 0; j < br_len(s); j++) {
			size_t k, len = 0;

			for (size_t i = 0; i <= j; i++)
				len += (size_t)snprintf(keys[n] + len, 128 - len, "%s;",
							br_stacks[s][i]);
			for (k = 0; k < n && strcmp(keys[k], keys[n]); k++)
				;
			if (k < n)
				continue;
			hits += br_match(br_stacks[s][j], icase);
			*under_dispatch += !strncmp(keys[n], "main;dispatch;", 14);
			n++;
		}
	*nodes = n;
	return hits;
}

static void br_expected(struct br_expect *e)
{
	uint64_t all = 0, hit = 0, hit_ic = 0, disp = 0, disp_hit = 0;
	size_t nodes, under;

	for (size_t s = 0; s < NBR; s++) {
		bool m = false, mi = false, d = !strcmp(br_stacks[s][1], "dispatch");

		for (size_t j = 0; j < br_len(s); j++) {
			m |= br_match(br_stacks[s][j], false);
			mi |= br_match(br_stacks[s][j], true);
		}
		all += br_counts[s];
		hit += m ? br_counts[s] : 0;
		hit_ic += mi ? br_counts[s] : 0;
		disp += d ? br_counts[s] : 0;
		disp_hit += d && m ? br_counts[s] : 0;
	}
	e->matched = 100.0 * (double)hit / (double)all;
	e->matched_ic = 100.0 * (double)hit_ic / (double)all;
	e->zmatched = 100.0 * (double)disp_hit / (double)disp;
	e->count = br_count(false, &nodes, &under);
	e->count_ic = br_count(true, &nodes, &under);
	/* All but the root, main and dispatch's subtree are hidden. */
	e->hidden = nodes + 1 - 2 - under;
}

static const char br_catcher[] =
	"<script type=\"text/ecmascript\"><![CDATA[\n"
	"window.peekaErrors = [];\n"
	"window.onerror = function (m, src, line) {\n"
	"\twindow.peekaErrors.push(m + ' at ' + line);\n"
	"};\n]]></script>\n";

static const char br_driver[] =
	"<text id=\"test-result\" x=\"0\" y=\"0\"></text>\n"
	"<script type=\"text/ecmascript\"><![CDATA[\n"
	"(function () {\n"
	"var out = [], errs = window.peekaErrors || ['no error catcher'];\n"
	"function frame(prefix) {\n"
	"\tvar gs = document.querySelectorAll('#frames g'), i;\n"
	"\tfor (i = 0; i < gs.length; i++)\n"
	"\t\tif (gs[i].querySelector('title').textContent.indexOf(prefix) === 0)\n"
	"\t\t\treturn gs[i];\n"
	"\tthrow new Error('no frame ' + prefix);\n"
	"}\n"
	"function n(sel) { return document.querySelectorAll(sel).length; }\n"
	"try {\n"
	"\tvar s0 = peekaFlame.state(), r, g, rect;\n"
	"\tout.push('init=' + (s0.zoom ? s0.zoom.x + '/' + s0.zoom.depth : '-') +\n"
	"\t\t',' + s0.search + ',' + s0.ignoreCase + ',' + s0.orientation);\n"
	"\tr = peekaFlame.search('^work');\n"
	"\tout.push('matched=' + r.matched, 'count=' + r.count,\n"
	"\t\t'hl=' + n('#frames g.match'),\n"
	"\t\t'shown=' + document.getElementById('matched').textContent);\n"
	"\tpeekaFlame.ignoreCase(true);\n"
	"\tout.push('matched_ic=' + peekaFlame.state().matched,\n"
	"\t\t'hl_ic=' + n('#frames g.match'));\n"
	"\tpeekaFlame.ignoreCase(false);\n"
	"\tg = frame('dispatch (');\n"
	"\trect = g.querySelector('rect');\n"
	"\trect.dispatchEvent(new MouseEvent('click', { bubbles: true,\n"
	"\t\tcancelable: true, view: window }));\n"
	"\tout.push('zw=' + rect.getAttribute('width'),\n"
	"\t\t'zx=' + rect.getAttribute('x'),\n"
	"\t\t'ztext=' + g.querySelector('text').textContent,\n"
	"\t\t'zmatched=' + peekaFlame.state().matched,\n"
	"\t\t'hidden=' + n('#frames g.hide'), 'parents=' + n('#frames g.parent'));\n"
	"\trect.dispatchEvent(new MouseEvent('mouseover', { bubbles: true }));\n"
	"\tout.push('details=' + document.getElementById('details').textContent);\n"
	"\tpeekaFlame.orientation('icicle');\n"
	"\tout.push('rooty=' + frame('all (').querySelector('rect').getAttribute('y'));\n"
	"\tout.push('url=' + location.search.replace(/&/g, ','));\n"
	"} catch (e) {\n"
	"\terrs.push(String(e));\n"
	"}\n"
	"out.push('errors=' + errs.length + ' ' + errs.join(' | '));\n"
	"document.getElementById('test-result').textContent = out.join(';');\n"
	"})();\n]]></script>\n";

/* The SVG with the error catcher first and the driver last. */
static char *br_document(const char *svg)
{
	const char *open = strstr(svg, "<svg "), *end = strrchr(svg, '<');
	const char *after;
	char *doc;
	size_t len = strlen(svg) + sizeof(br_catcher) + sizeof(br_driver);

	ck_assert_ptr_nonnull(open);
	after = strchr(open, '>') + 1;
	ck_assert_str_eq(end, "</svg>\n");
	doc = malloc(len);
	ck_assert_ptr_nonnull(doc);
	snprintf(doc, len, "%.*s\n%s%.*s%s%s", (int)(after - svg), svg,
		 br_catcher, (int)(end - after), after, br_driver, end);
	return doc;
}

/* The value of "key=" in the driver's result, up to ';'. */
static char *br_field(const char *res, const char *key, char *buf, size_t len)
{
	char k[32];
	const char *s, *e;

	snprintf(k, sizeof(k), "%s=", key);
	s = strstr(res, k);
	ck_assert_msg(s != NULL, "no '%s' in the browser's result: %s", key, res);
	s += strlen(k);
	e = strchr(s, ';');
	snprintf(buf, len, "%.*s", (int)(e ? e - s : (long)strlen(s)), s);
	return buf;
}

static char *br_run(const char *path, const char *query)
{
	const char *bin = getenv("PEEKA_CHROMIUM") ? getenv("PEEKA_CHROMIUM") : CHROMIUM;
	char cmd[PATH_MAX * 2 + 512], *out = NULL, *err = NULL, *s, *e;
	int rc;

	ck_assert_msg(access(bin, X_OK) == 0, "FAIL: %s not found: the flame-graph "
		      "browser test needs Debian's chromium (apt-get install "
		      "chromium)", bin);
	snprintf(cmd, sizeof(cmd), "d=$(mktemp -d) && '%s' --headless --no-sandbox "
		 "--disable-gpu --disable-background-networking "
		 "--disable-component-update --disable-sync --no-first-run "
		 "--user-data-dir=\"$d\" --virtual-time-budget=5000 --dump-dom "
		 "'file://%s%s'; rc=$?; rm -rf \"$d\"; exit $rc", bin, path, query);
	rc = tu_run(cmd, 90, &out, &err);
	ck_assert_msg(rc == 0, "chromium failed (exit %d): %s", rc, err ? err : "");
	s = out ? strstr(out, "<text id=\"test-result\"") : NULL;
	ck_assert_msg(s != NULL, "no test result in the dumped DOM: %.500s",
		      out ? out : "");
	s = strchr(s, '>') + 1;
	e = strchr(s, '<');
	ck_assert_ptr_nonnull(e);
	*e = '\0';
	memmove(out, s, strlen(s) + 1);
	free(err);
	return out;
}

static struct profile *br_profile(void)
{
	struct profile *p = profile__new();

	for (size_t s = 0; s < NBR; s++)
		add_stack(p, br_stacks[s], br_len(s), "app.py", PROF_APP,
			  br_counts[s]);
	profile__set_meta(p, "browser test", NULL);
	return p;
}

/* The first sample of the "dispatch" frame, as written. */
static unsigned long br_dispatch_x(void)
{
	struct profile *p = br_profile();
	struct mem_out m = render(p, NULL);
	const char *d = strstr(m.buf, "<title>dispatch (");
	unsigned long x;

	ck_assert_ptr_nonnull(d);
	x = strtoul(strstr(d, "data-x=\"") + 8, NULL, 10);
	free(m.buf);
	profile__free(p);
	return x;
}

/*
 * Write the browser profile's SVG with the driver, open it in Chromium
 * with @query, fail on any JavaScript error, return the driver's result.
 */
static char *br_result(const char *name, const char *query)
{
	struct profile *p = br_profile();
	struct mem_out m = render(p, NULL);
	char path[PATH_MAX], v[256], *doc, *res;

	ck_assert_int_eq(m.ret, 0);
	doc = br_document(m.buf);
	out_path(path, sizeof(path), name);
	tu_write_file(path, doc);
	res = br_run(path, query);
	ck_assert_msg(!strncmp(br_field(res, "errors", v, sizeof(v)), "0 ", 2),
		      "JavaScript errors: %s (result %s)", v, res);
	unlink(path);
	free(doc);
	free(m.buf);
	profile__free(p);
	return res;
}

START_TEST(test_browser_search_zoom)
{
	struct br_expect e;
	char v[256], *res = br_result("browser", "");

	br_expected(&e);
	ck_assert_str_eq(br_field(res, "init", v, 256), "-,,false,flame");
	ck_assert_double_eq_tol(strtod(br_field(res, "matched", v, 256), NULL),
				e.matched, 1e-9);
	ck_assert_uint_eq(strtoul(br_field(res, "count", v, 256), NULL, 10), e.count);
	ck_assert_uint_eq(strtoul(br_field(res, "hl", v, 256), NULL, 10), e.count);
	ck_assert_double_eq_tol(strtod(br_field(res, "matched_ic", v, 256), NULL),
				e.matched_ic, 1e-9);
	ck_assert_uint_eq(strtoul(br_field(res, "hl_ic", v, 256), NULL, 10),
			  e.count_ic);
	ck_assert_str_eq(br_field(res, "zw", v, 256), "100%");
	ck_assert_str_eq(br_field(res, "zx", v, 256), "0%");
	ck_assert_str_eq(br_field(res, "ztext", v, 256), "dispatch (app.py:2)");
	ck_assert_double_eq_tol(strtod(br_field(res, "zmatched", v, 256), NULL),
				e.zmatched, 1e-9);
	ck_assert_uint_eq(strtoul(br_field(res, "hidden", v, 256), NULL, 10), e.hidden);
	ck_assert_str_eq(br_field(res, "parents", v, 256), "2");
	ck_assert_str_eq(br_field(res, "details", v, 256), "Function: dispatch "
			 "(app.py:2) (65 samples, 52.00%), 100.00% of zoomed");
	ck_assert_str_eq(br_field(res, "rooty", v, 256), "0");
	br_field(res, "url", v, sizeof(v));
	ck_assert_msg(strstr(v, "x=") && strstr(v, "y=2") && strstr(v, "s=%5Ework") &&
		      strstr(v, "o=icicle"), "URL state missing: %s", v);
	br_field(res, "shown", v, sizeof(v));
	ck_assert_msg(strstr(v, "Matched: "), "no Matched line: %s", v);
	free(res);
}
END_TEST

/* A link with the query the page wrote reproduces the view. */
START_TEST(test_browser_url_restores_view)
{
	unsigned long dx = br_dispatch_x();
	char q[128], want[128], v[256], *res;

	snprintf(q, sizeof(q), "?x=%lu&y=2&s=%%5Ework&i=1&o=icicle", dx);
	res = br_result("browser-url", q);
	snprintf(want, sizeof(want), "%lu/2,^work,true,icicle", dx);
	ck_assert_str_eq(br_field(res, "init", v, 256), want);
	free(res);
}
END_TEST

Suite *out_svg_suite(void)
{
	Suite *s = suite_create("out_svg");
	TCase *tc = tcase_create("write");
	TCase *br = tcase_create("browser");

	tcase_add_test(tc, test_hostile_names_well_formed);
	tcase_add_test(tc, test_prune_caps_frames);
	tcase_add_test(tc, test_prune_small_budget_and_min_width);
	tcase_add_test(tc, test_empty_profile_writes_nothing);
	tcase_add_test(tc, test_write_error_reported);
	tcase_add_test(tc, test_deterministic_output);
	tcase_add_test(tc, test_colour_stable_per_function);
	tcase_add_test(tc, test_label_cut_at_code_points);
	tcase_add_test(tc, test_assets_fit_in_cdata);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	tcase_add_test(br, test_browser_search_zoom);
	tcase_add_test(br, test_browser_url_restores_view);
	tcase_set_tags(br, "integration");
	tcase_set_timeout(br, 120);
	suite_add_tcase(s, br);
	return s;
}
