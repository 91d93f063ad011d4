/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Flame-graph SVG writer: the document head and controls, one <g> per
 * drawn frame in pre-order, and peeka's embedded CSS and JavaScript
 * (src/flamegraph/).  Owns XML text escaping and frame colours; merging
 * and pruning live in flame_tree.c.  Writes nothing but the document.
 */
#include "out_svg.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flame_tree.h"
#include "utf8.h"
#include "flamegraph_assets.h"

/*
 * Geometry shared with flamegraph.js: rows PITCH px apart (rect PITCH-1
 * high, label baseline 11 px below its top), frames XPAD px from either
 * side, labels fitted with CHAR_PX per character (the script measures the
 * real advance and re-fits; this is for viewers that run no script).
 */
#define PITCH 16
#define WIDTH 1200
#define XPAD 10
#define CHAR_PX 7.2
#define TITLE_MAX 110
#define SUBTITLE_MAX 170

struct svg_doc {
	FILE *f;
	const struct profile *p;
	struct flame_tree t;
	uint32_t *stack;        /* for put_frames(), allocated up front */
	uint64_t total;
	uint64_t thr;           /* narrowest drawn frame, in samples */
	size_t hidden;          /* frames narrower than thr */
	double cut_pct;         /* thr as a percentage, for the note */
	uint32_t depth;         /* deepest drawn row */
	int head;               /* height of title and subtitle, px */
	bool icicle;
	const char *title, *subtitle;
	/* Differential graphs: per node, own samples after minus before. */
	int64_t *delta;
	uint64_t *before;
	uint64_t max_delta;
};

/* The XML 1.0 Char production. */
static bool xml_char(uint32_t cp)
{
	return cp == 0x9 || cp == 0xa || cp == 0xd ||
	       (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) ||
	       cp >= 0x10000;
}

/* The number of code points xml_put() writes for @s. */
static size_t xml_len(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = 0, len;

	for (; *u; u += len)
		n += xml_char(utf8__next(u, &len));
	return n;
}

/*
 * Write at most @max code points of @s as XML character data: markup
 * characters escaped, invalid UTF-8 as U+FFFD, characters that XML 1.0
 * does not allow left out.
 */
static void xml_put(FILE *f, const char *s, size_t max)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len;

	for (; *u && max; u += len) {
		uint32_t cp = utf8__next(u, &len);

		if (!xml_char(cp))
			continue;
		max--;
		if (cp == '<')
			fputs("&lt;", f);
		else if (cp == '>')
			fputs("&gt;", f);
		else if (cp == '&')
			fputs("&amp;", f);
		else if (cp == '"')
			fputs("&quot;", f);
		else if (cp == '\'')
			fputs("&apos;", f);
		else if (cp == 0xfffd)
			fputs("\xef\xbf\xbd", f);
		else
			fwrite(u, 1, len, f);
	}
}

/* @s cut to @max code points, ending in ".." when cut. */
static void xml_put_cut(FILE *f, const char *s, size_t max)
{
	if (xml_len(s) <= max) {
		xml_put(f, s, SIZE_MAX);
		return;
	}
	xml_put(f, s, max - 2);
	fputs("..", f);
}

/* A label for a frame @px wide, as flamegraph.js fits it. */
static void put_fitted(FILE *f, const char *label, double px)
{
	double room = (px - 6) / CHAR_PX;

	if (room >= 3)
		xml_put_cut(f, label, (size_t)room);
}

static void put_count(FILE *f, uint64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);

	for (int i = 0; i < n; i++) {
		if (i && (n - i) % 3 == 0)
			fputc(',', f);
		fputc(buf[i], f);
	}
}

/* @part of @whole as a geometry percentage: 4 decimals, no trailing 0s. */
static void put_pct(FILE *f, uint64_t part, uint64_t whole)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%.4f",
			 (double)part * 100.0 / (double)whole);

	while (buf[n - 1] == '0')
		n--;
	if (buf[n - 1] == '.')
		n--;
	fwrite(buf, 1, (size_t)n, f);
	fputc('%', f);
}

/* @part of @whole for people: two decimals, or two digits when tiny. */
static void put_share(FILE *f, uint64_t part, uint64_t whole)
{
	double pct = (double)part * 100.0 / (double)whole;

	if (pct >= 0.01)
		fprintf(f, "%.2f%%", pct);
	else
		fprintf(f, "%.2g%%", pct);
}

/*
 * Colours: a hue range per class, the shade within it from FNV-1a of the
 * function name, so a function looks the same in every graph.
 */
struct shade {
	unsigned char lo[3], hi[3];
};

static const struct shade class_shades[PROF__NCLASS] = {
	[PROF_APP] = { { 226, 92, 42 }, { 250, 178, 72 } },
	[PROF_STDLIB] = { { 204, 188, 64 }, { 236, 226, 122 } },
	[PROF_SITE] = { { 62, 172, 178 }, { 128, 214, 208 } },
	[PROF_NATIVE] = { { 132, 140, 222 }, { 182, 186, 246 } },
	[PROF_THREAD] = { { 168, 184, 200 }, { 196, 208, 222 } },
	[PROF_PROCESS] = { { 190, 178, 166 }, { 214, 204, 192 } },
	[PROF_OTHER] = { { 104, 184, 104 }, { 160, 214, 140 } },
};

static uint32_t frame_rgb(const struct prof_frame *fr)
{
	const struct shade *sh;
	uint64_t h = 0xcbf29ce484222325ULL;
	uint32_t rgb = 0;
	double v, jitter;

	if (!fr || fr->cls >= PROF__NCLASS)
		return 0xc0c0c0;
	sh = &class_shades[fr->cls];
	for (const unsigned char *c = (const unsigned char *)fr->function; *c; c++) {
		h ^= *c;
		h *= 0x100000001b3ULL;
	}
	/* FNV-1a's low bits barely change between similar names: mix. */
	h ^= h >> 31;
	h *= 0x9e3779b97f4a7c15ULL;
	h ^= h >> 29;
	v = (double)(h >> 40) / 16777216.0;
	jitter = (double)((h >> 16) & 0xffff) / 65536.0 - 0.5;
	for (int c = 0; c < 3; c++) {
		double x = sh->lo[c] + v * (sh->hi[c] - sh->lo[c]) +
			   (c == 1 ? jitter * 16 : 0);

		x = x < 0 ? 0 : x > 255 ? 255 : x;
		rgb = rgb << 8 | (uint32_t)(x + 0.5);
	}
	return rgb;
}

/* Differential colour: white unchanged, red grown, blue shrunk. */
static uint32_t diff_rgb(const struct svg_doc *d, uint32_t i)
{
	int64_t dl = d->delta[i];
	uint64_t mag = dl < 0 ? (uint64_t)-dl : (uint64_t)dl;
	uint32_t pale;

	if (!dl || !d->max_delta)
		return 0xfafafa;
	pale = (uint32_t)(100.0 + 150.0 * (double)(d->max_delta - mag) /
				     (double)d->max_delta + 0.5);
	return dl > 0 ? 0xff0000u | pale << 8 | pale
		      : pale << 16 | pale << 8 | 0xffu;
}

/* "; own N before, M after, +D%" (D: the change as a share of all). */
static void put_change(const struct svg_doc *d, uint32_t i)
{
	uint64_t before = d->before[i];
	uint64_t after = (uint64_t)((int64_t)before + d->delta[i]);

	fputs("; own ", d->f);
	put_count(d->f, before);
	fputs(" before, ", d->f);
	put_count(d->f, after);
	fprintf(d->f, " after, %+.2f%%",
		100.0 * (double)d->delta[i] / (double)d->total);
}

/* Own samples before and after for every drawn node. */
static int diff_init(struct svg_doc *d, const struct out_svg_opts *o)
{
	uint32_t *path = malloc((d->t.n ? d->t.n : 1) * sizeof(*path));
	size_t cap = 4100;

	d->delta = calloc(d->t.n, sizeof(*d->delta));
	d->before = calloc(d->t.n, sizeof(*d->before));
	if (!d->delta || !d->before || !path) {
		free(path);
		return -ENOMEM;
	}
	for (size_t i = 1; i < d->t.n; i++) {
		const struct flame_node *n = &d->t.nodes[i];
		uint64_t self = n->total, mag;
		size_t len = 0;

		if (n->total < d->thr)
			continue;
		for (uint32_t k = 0; k < n->nkids; k++)
			self -= d->t.nodes[d->t.kids[n->first + k]].total;
		for (uint32_t j = (uint32_t)i; j && len < cap; j = d->t.nodes[j].parent)
			path[len++] = d->t.nodes[j].frame;
		for (size_t a = 0, b = len ? len - 1 : 0; a < b; a++, b--) {
			uint32_t t = path[a];

			path[a] = path[b];
			path[b] = t;
		}
		d->before[i] = o->before_self(o->before_ctx, path, len);
		d->delta[i] = (int64_t)self - (int64_t)d->before[i];
		mag = d->delta[i] < 0 ? (uint64_t)-d->delta[i] : (uint64_t)d->delta[i];
		if (mag > d->max_delta)
			d->max_delta = mag;
	}
	free(path);
	return 0;
}

static void put_frame(struct svg_doc *d, uint32_t i)
{
	const struct flame_node *n = &d->t.nodes[i];
	const struct prof_frame *fr = n->frame == FLAME_ROOT_FRAME ? NULL :
				      profile__frame(d->p, n->frame);
	const char *label = fr ? fr->label : "all";
	uint32_t y = (d->icicle ? n->depth : d->depth - n->depth) * PITCH;
	FILE *f = d->f;

	fputs("<g><title>", f);
	xml_put(f, label, SIZE_MAX);
	fputs(" (", f);
	put_count(f, n->total);
	fputs(n->total == 1 ? " sample, " : " samples, ", f);
	put_share(f, n->total, d->total);
	if (d->delta)
		put_change(d, i);
	fputs(")</title><rect x=\"", f);
	put_pct(f, n->start, d->total);
	fprintf(f, "\" y=\"%u\" width=\"", y);
	put_pct(f, n->total, d->total);
	fprintf(f, "\" height=\"%d\" fill=\"#%06x\" data-x=\"%llu\" data-w=\"%llu\"/>"
		"<text x=\"", PITCH - 1, d->delta ? diff_rgb(d, i) : frame_rgb(fr),
		(unsigned long long)n->start, (unsigned long long)n->total);
	put_pct(f, n->start, d->total);
	fprintf(f, "\" y=\"%u\">", y + 11);
	put_fitted(f, label, (double)n->total / (double)d->total *
			     (WIDTH - 2 * XPAD));
	fputs("</text></g>\n", f);
}

/* Every drawn frame, parents before children, siblings left to right. */
static void put_frames(struct svg_doc *d)
{
	uint32_t *stack = d->stack;
	size_t sp = 0;

	stack[sp++] = 0;
	while (sp) {
		const struct flame_node *n = &d->t.nodes[stack[--sp]];

		put_frame(d, (uint32_t)(n - d->t.nodes));
		for (uint32_t k = n->nkids; k-- > 0;) {
			uint32_t c = d->t.kids[n->first + k];

			if (d->t.nodes[c].total >= d->thr)
				stack[sp++] = c;
		}
	}
}

static void put_subtitle(struct svg_doc *d)
{
	FILE *f = d->f;

	if (!d->subtitle && !d->hidden)
		return;
	fputs("<text id=\"subtitle\" x=\"50%\" y=\"42\">", f);
	if (d->subtitle) {
		fputs("<title>", f);
		xml_put(f, d->subtitle, SIZE_MAX);
		fputs("</title>", f);
		xml_put_cut(f, d->subtitle, SUBTITLE_MAX);
	}
	if (d->subtitle && d->hidden)
		fputs(" \xe2\x80\x94 ", f);
	if (d->hidden) {
		put_count(f, d->hidden);
		fprintf(f, " frame%s narrower than %.3g%% hidden",
			d->hidden == 1 ? "" : "s", d->cut_pct);
	}
	fputs("</text>\n", f);
}

static void put_head(struct svg_doc *d)
{
	FILE *f = d->f;
	int fh = ((int)d->depth + 1) * PITCH;

	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
		"<svg version=\"1.1\" id=\"peeka-flame\" width=\"%d\" height=\"%d\" "
		"xmlns=\"http://www.w3.org/2000/svg\" data-total=\"%llu\" "
		"data-depth=\"%u\" data-head=\"%d\" data-orient=\"%s\">\n"
		"<!-- Flame graph written by peeka. Hover a frame for details, "
		"click to zoom, Ctrl-F or F3 to search. -->\n<style><![CDATA[\n",
		WIDTH, d->head + fh + 34, (unsigned long long)d->total,
		d->depth, d->head, d->icicle ? "icicle" : "flame");
	fputs(flamegraph_css, f);
	fputs("]]></style>\n<defs><linearGradient id=\"bg-grad\" x1=\"0\" y1=\"0\" "
	      "x2=\"0\" y2=\"1\"><stop id=\"bg-top\" offset=\"5%\" stop-color=\"#f8f8f8\"/>"
	      "<stop id=\"bg-bottom\" offset=\"95%\" stop-color=\"#eaedf2\"/>"
	      "</linearGradient></defs>\n<rect id=\"bg\" width=\"100%\" "
	      "height=\"100%\" fill=\"url(#bg-grad)\"/>\n<text id=\"title\" "
	      "x=\"50%\" y=\"24\"><title>", f);
	xml_put(f, d->title, SIZE_MAX);
	fputs("</title>", f);
	xml_put_cut(f, d->title, TITLE_MAX);
	fputs("</text>\n", f);
	put_subtitle(d);
}

static void put_controls(struct svg_doc *d)
{
	FILE *f = d->f;
	int fh = ((int)d->depth + 1) * PITCH;
	int info = d->icicle ? d->head + 17 : d->head + 8 + fh + 17;

	fputs("<text id=\"unzoom\" class=\"btn hide\" x=\"10\" y=\"24\">"
	      "<title>Show the whole graph again</title>Reset Zoom</text>\n"
	      "<g id=\"controls\"><text id=\"search\" class=\"btn\" x=\"100%\" "
	      "dx=\"-94\" y=\"24\"><title>Highlight frames matching a regular "
	      "expression (Ctrl-F, F3)</title>Search</text><text id=\"ignorecase\" "
	      "class=\"btn\" x=\"100%\" dx=\"-66\" y=\"24\"><title>Ignore case "
	      "in searches (Ctrl-I)</title>ic</text><text id=\"orient\" "
	      "class=\"btn\" x=\"100%\" dx=\"-10\" y=\"24\"><title>Flip between "
	      "flame (root at the bottom) and icicle (root on top)</title>", f);
	fprintf(f, "%s</text></g>\n<text id=\"details\" x=\"10\" y=\"%d\">"
		"\xc2\xa0</text><text id=\"matched\" x=\"100%%\" dx=\"-10\" "
		"y=\"%d\"></text>\n<svg id=\"frames\" x=\"%d\" y=\"%d\" "
		"width=\"%d\" height=\"%d\">\n", d->icicle ? "Flame" : "Icicle",
		info, info, XPAD, d->icicle ? d->head + 26 : d->head + 8,
		WIDTH - 2 * XPAD, fh);
}

static void put_tail(struct svg_doc *d)
{
	fputs("</svg>\n<script type=\"text/ecmascript\"><![CDATA[\n", d->f);
	fputs(flamegraph_js, d->f);
	fputs("]]></script>\n</svg>\n", d->f);
}

static int doc_init(struct svg_doc *d, const struct profile *p, FILE *f,
		    const struct out_svg_opts *o)
{
	const struct prof_meta *m = profile__meta(p);
	double min_pct = o && o->min_width_pct > 0 ? o->min_width_pct :
						     OUT_SVG_MIN_WIDTH_PCT;
	size_t max = o && o->max_frames ? o->max_frames : OUT_SVG_MAX_FRAMES;
	uint64_t base;
	int ret;

	memset(d, 0, sizeof(*d));
	d->f = f;
	d->p = p;
	d->icicle = o && o->icicle;
	d->title = o && o->title ? o->title : m->title ? m->title : "Flame Graph";
	d->subtitle = o && o->subtitle ? o->subtitle : m->subtitle;
	ret = flame_tree__build(&d->t, p);
	if (ret)
		return ret;
	d->total = d->t.nodes[0].total;
	base = flame_tree__threshold(&d->t, min_pct, SIZE_MAX, &d->hidden);
	d->thr = flame_tree__threshold(&d->t, min_pct, max, &d->hidden);
	d->stack = malloc(d->t.n * sizeof(*d->stack));
	if (d->thr == UINT64_MAX || !d->stack) {
		free(d->stack);
		flame_tree__release(&d->t);
		return -ENOMEM;
	}
	/* Name the cut-off the user chose unless the budget raised it. */
	d->cut_pct = d->thr > base ? (double)d->thr * 100.0 / (double)d->total :
				     min_pct;
	for (size_t i = 0; i < d->t.n; i++)
		if (d->t.nodes[i].total >= d->thr && d->t.nodes[i].depth > d->depth)
			d->depth = d->t.nodes[i].depth;
	d->head = d->subtitle || d->hidden ? 48 : 30;
	return 0;
}

/* The embedded assets go into CDATA sections: "]]>" would end them. */
static bool assets_fit_cdata(void)
{
	return !strstr(flamegraph_js, "]]>") && !strstr(flamegraph_css, "]]>");
}

int out_svg__write(const struct profile *p, FILE *f,
		   const struct out_svg_opts *o)
{
	struct svg_doc d;
	int ret;

	if (!p || !f || (o && !(o->min_width_pct >= 0)) || !assets_fit_cdata())
		return -EINVAL;
	if (!profile__total(p))
		return -ENODATA;
	ret = doc_init(&d, p, f, o);
	if (ret)
		return ret;
	if (o && o->before_self && (ret = diff_init(&d, o))) {
		free(d.delta);
		free(d.before);
		free(d.stack);
		flame_tree__release(&d.t);
		return ret;
	}
	put_head(&d);
	put_controls(&d);
	put_frames(&d);
	put_tail(&d);
	free(d.stack);
	free(d.delta);
	free(d.before);
	flame_tree__release(&d.t);
	errno = 0;
	if (ferror(f))
		return -EIO;
	if (fflush(f))
		return errno ? -errno : -EIO;
	return 0;
}
