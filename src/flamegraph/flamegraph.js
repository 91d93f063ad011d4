/* SPDX-License-Identifier: Apache-2.0 */
/*
 * peeka flame graph: the interactive part of the SVG that src/out_svg.c
 * writes.  Hover shows a frame's details, a click zooms to it, Search
 * (Ctrl-F, F3) highlights frames by regular expression, "ic" (Ctrl-I)
 * ignores case, Flame/Icicle flips the orientation, Escape resets the
 * search and then the zoom.  The view is kept in the URL query, so a link
 * reproduces it:  s=REGEX  i=1  x=FIRST_SAMPLE&y=DEPTH (zoom)  o=ORIENT.
 *
 * The document, as out_svg.c writes it: a root <svg> with data-total (all
 * samples), data-depth (deepest row), data-head (header height, px) and
 * data-orient ("flame" or "icicle", as written); frames are the <g>
 * children of <svg id="frames">, parents before children, each holding
 * <title>LABEL (N samples, P%)</title>, a <rect> (y; data-x = first
 * sample, data-w = width in samples) and a <text>.  Rows are 16 px apart.
 *
 * Stable API on window.peekaFlame (for tests and the browser console):
 *   search(re)      highlight frames whose label matches @re, a RegExp or
 *                   its source text ('' or null resets); returns
 *                   { matched: percent of the zoomed view covered by
 *                   matches, nested matches counted once, count: number of
 *                   highlighted frames in view }, or null for a bad regex
 *   resetSearch()
 *   ignoreCase(on)  set the flag (re-runs the search); returns it
 *   zoom(el)        zoom to the frame holding @el (its <g>, <rect> or
 *                   <text>); zooming to the root resets
 *   reset()         reset the zoom
 *   orientation(o)  'flame' or 'icicle'; returns the current orientation
 *   state()         { zoom: { x, depth } or null, search, ignoreCase,
 *                   orientation, matched }
 */
(function () {
	'use strict';

	var PITCH = 16, PAD = 10, FONT = 12;
	var svg = document.documentElement;
	var framesEl = document.getElementById('frames');
	var total = +svg.getAttribute('data-total');
	var maxDepth = +svg.getAttribute('data-depth');
	var head = +svg.getAttribute('data-head');
	var written = svg.getAttribute('data-orient') === 'icicle' ?
		'icicle' : 'flame';
	var ui = {};
	var frames = [];
	var charPx = FONT * 0.6, width = 1180;
	var st = {
		zoom: null, zx: 0, zw: total, zd: 0,
		rx: null, src: '', ic: false, orient: written, matched: 0
	};

	function byId(id) {
		return document.getElementById(id);
	}

	function collect() {
		var gs = framesEl.getElementsByTagName('g'), i, g, r, t, title, y;

		for (i = 0; i < gs.length; i++) {
			g = gs[i];
			r = g.getElementsByTagName('rect')[0];
			t = g.getElementsByTagName('text')[0];
			title = g.getElementsByTagName('title')[0].textContent;
			y = +r.getAttribute('y') / PITCH;
			frames.push({
				g: g, rect: r, text: t, title: title,
				label: title.slice(0, title.lastIndexOf(' (')),
				x: +r.getAttribute('data-x'),
				w: +r.getAttribute('data-w'),
				d: Math.round(written === 'icicle' ? y : maxDepth - y),
				cls: '', px: r.getAttribute('x'),
				pw: r.getAttribute('width'), txt: t.textContent,
				shown: true, m: false
			});
			frames[i].cps = /[\uD800-\uDFFF]/.test(frames[i].label) ?
				Array.from(frames[i].label) : null;
			g.peekaIndex = i;
		}
	}

	/* Character advance of the label font, measured once. */
	function measure() {
		var t = document.createElementNS(svg.namespaceURI, 'text'), w;

		t.textContent = 'WWWWWWWWWWWWWWWWWWWW';
		framesEl.appendChild(t);
		w = t.getComputedTextLength();
		framesEl.removeChild(t);
		if (w > 0)
			charPx = w / 20;
	}

	function pct(v) {
		return Math.round(v * 10000) / 10000 + '%';
	}

	function fitLabel(f, px) {
		var n = Math.floor((px - 6) / charPx), s = f.cps || f.label;

		if (n < 3)
			return '';
		if (s.length <= n)
			return f.label;
		return f.cps ? f.cps.slice(0, n - 2).join('') + '..' :
			f.label.slice(0, n - 2) + '..';
	}

	/* Re-fit labels; DOM writes only, and only where the text changes. */
	function fit() {
		var i, f, s;

		for (i = 0; i < frames.length; i++) {
			f = frames[i];
			if (!f.shown)
				continue;
			s = fitLabel(f, (f.d < st.zd ? 1 : f.w / st.zw) * width);
			if (s !== f.txt) {
				f.txt = s;
				f.text.textContent = s;
			}
		}
	}

	/* Where @f goes in the current zoom: [x%, width%, class] or null. */
	function place(f) {
		var end = st.zx + st.zw;

		if (f.d < st.zd)
			return f.x <= st.zx && f.x + f.w >= end ? [0, 100, 'parent'] : null;
		if (f.x >= st.zx && f.x + f.w <= end)
			return [(f.x - st.zx) / st.zw * 100, f.w / st.zw * 100, ''];
		return null;
	}

	function render() {
		var i, f, p, cls, x, w;

		for (i = 0; i < frames.length; i++) {
			f = frames[i];
			p = place(f);
			f.shown = !!p;
			cls = p ? p[2] : 'hide';
			if (p && f.m)
				cls = cls ? cls + ' match' : 'match';
			if (cls !== f.cls) {
				f.cls = cls;
				if (cls)
					f.g.setAttribute('class', cls);
				else
					f.g.removeAttribute('class');
			}
			if (!p)
				continue;
			x = pct(p[0]);
			w = pct(p[1]);
			if (x !== f.px) {
				f.px = x;
				f.rect.setAttribute('x', x);
				f.text.setAttribute('x', x);
			}
			if (w !== f.pw) {
				f.pw = w;
				f.rect.setAttribute('width', w);
			}
		}
		fit();
	}

	/* Matched share of the zoomed view: the union of matched intervals. */
	function matchedPct() {
		var iv = [], i, f, a, b, sum = 0, end = -1;

		for (i = 0; i < frames.length; i++) {
			f = frames[i];
			if (!f.m)
				continue;
			a = Math.max(f.x, st.zx);
			b = Math.min(f.x + f.w, st.zx + st.zw);
			if (b > a)
				iv.push([a, b]);
		}
		iv.sort(function (p, q) { return p[0] - q[0]; });
		for (i = 0; i < iv.length; i++) {
			a = Math.max(iv[i][0], end);
			if (iv[i][1] > a) {
				sum += iv[i][1] - a;
				end = iv[i][1];
			}
		}
		return sum / st.zw * 100;
	}

	function showMatched() {
		st.matched = st.rx ? matchedPct() : 0;
		ui.matched.textContent = st.rx ?
			'Matched: ' + st.matched.toFixed(2) + '%' : '';
	}

	function setURL() {
		var q = [], base = location.href.split(/[?#]/)[0];

		if (st.zoom)
			q.push('x=' + st.zoom.x, 'y=' + st.zoom.d);
		if (st.rx)
			q.push('s=' + encodeURIComponent(st.src));
		if (st.ic)
			q.push('i=1');
		if (st.orient !== written)
			q.push('o=' + st.orient);
		try {
			history.replaceState(null, '', base +
				(q.length ? '?' + q.join('&') : '') + location.hash);
		} catch (e) {
			/* some browsers refuse for file: URLs; the view still works */
		}
	}

	function zoomTo(f) {
		if (!f.d)
			return reset();
		st.zoom = f;
		st.zx = f.x;
		st.zw = f.w;
		st.zd = f.d;
		ui.unzoom.setAttribute('class', 'btn');
		render();
		showMatched();
		setURL();
	}

	function reset() {
		st.zoom = null;
		st.zx = 0;
		st.zw = total;
		st.zd = 0;
		ui.unzoom.setAttribute('class', 'btn hide');
		render();
		showMatched();
		setURL();
	}

	function resetSearch() {
		st.rx = null;
		st.src = '';
		frames.forEach(function (f) { f.m = false; });
		ui.search.lastChild.textContent = 'Search';
		render();
		showMatched();
		setURL();
	}

	function search(re) {
		var src = re instanceof RegExp ? re.source : re, rx, count = 0;

		if (src === null || src === undefined || src === '') {
			resetSearch();
			return { matched: 0, count: 0 };
		}
		if (re instanceof RegExp && re.ignoreCase)
			setIc(true);
		try {
			rx = new RegExp(String(src), st.ic ? 'i' : '');
		} catch (e) {
			ui.details.textContent = 'Invalid regular expression: ' + src;
			return null;
		}
		st.rx = rx;
		st.src = String(src);
		frames.forEach(function (f) {
			f.m = f.d > 0 && rx.test(f.label);
		});
		ui.search.lastChild.textContent = 'Reset Search';
		render();
		showMatched();
		setURL();
		frames.forEach(function (f) { count += f.m && f.shown; });
		return { matched: st.matched, count: count };
	}

	function setIc(on) {
		st.ic = !!on;
		ui.ic.setAttribute('class', st.ic ? 'btn on' : 'btn');
	}

	function ignoreCase(on) {
		if (on === undefined)
			return st.ic;
		setIc(on);
		if (st.rx)
			search(st.src);
		else
			setURL();
		return st.ic;
	}

	function orientation(o) {
		var icicle = o === 'icicle', info, fh = (maxDepth + 1) * PITCH;

		if (o === undefined)
			return st.orient;
		if (o !== 'flame' && o !== 'icicle')
			throw new Error('orientation must be "flame" or "icicle"');
		st.orient = o;
		info = icicle ? head + 17 : head + 8 + fh + 17;
		framesEl.setAttribute('y', icicle ? head + 26 : head + 8);
		ui.details.setAttribute('y', info);
		ui.matched.setAttribute('y', info);
		ui.orient.lastChild.textContent = icicle ? 'Flame' : 'Icicle';
		frames.forEach(function (f) {
			var y = (icicle ? f.d : maxDepth - f.d) * PITCH;

			f.rect.setAttribute('y', y);
			f.text.setAttribute('y', y + 11);
		});
		setURL();
		return o;
	}

	function promptSearch() {
		var term = window.prompt('Search frames (regular expression, ' +
			'e.g. "^handle_" or "site-packages")', st.src);

		if (term !== null)
			search(term);
	}

	function frameOf(el) {
		for (; el && el !== framesEl; el = el.parentNode)
			if (el.peekaIndex !== undefined)
				return frames[el.peekaIndex];
		return null;
	}

	function hover(f) {
		var s = 'Function: ' + f.title;

		if (st.zoom && f.d >= st.zd)
			s += ', ' + (f.w / st.zw * 100).toFixed(2) + '% of zoomed';
		ui.details.textContent = s;
	}

	/* Fluid width: the frames fill the window, labels follow. */
	function layout() {
		var w = svg.getBoundingClientRect().width || window.innerWidth;

		width = Math.max(w - 2 * PAD, 100);
		framesEl.setAttribute('width', width);
		fit();
	}

	function restore() {
		var q = new URLSearchParams(location.search), x, y, i;

		if (q.get('o') === 'flame' || q.get('o') === 'icicle')
			orientation(q.get('o'));
		if (q.get('i') === '1')
			setIc(true);
		if (q.has('x') && q.has('y')) {
			x = +q.get('x');
			y = +q.get('y');
			for (i = 0; i < frames.length; i++)
				if (frames[i].x === x && frames[i].d === y) {
					zoomTo(frames[i]);
					break;
				}
		}
		if (q.get('s'))
			search(q.get('s'));
	}

	function onKey(e) {
		var mod = e.ctrlKey || e.metaKey, k = e.key;

		if (k === 'F3' || (mod && (k === 'f' || k === 'F'))) {
			e.preventDefault();
			promptSearch();
		} else if (mod && (k === 'i' || k === 'I')) {
			e.preventDefault();
			ignoreCase(!st.ic);
		} else if (k === 'Escape') {
			if (st.rx)
				resetSearch();
			else if (st.zoom)
				reset();
		}
	}

	function listen() {
		var timer = null;

		framesEl.addEventListener('mouseover', function (e) {
			var f = frameOf(e.target);

			if (f)
				hover(f);
		});
		framesEl.addEventListener('mouseout', function () {
			ui.details.textContent = '\u00a0';
		});
		framesEl.addEventListener('click', function (e) {
			var f = frameOf(e.target);

			if (f)
				zoomTo(f);
		});
		ui.unzoom.addEventListener('click', reset);
		ui.search.addEventListener('click', function () {
			if (st.rx)
				resetSearch();
			else
				promptSearch();
		});
		ui.ic.addEventListener('click', function () { ignoreCase(!st.ic); });
		ui.orient.addEventListener('click', function () {
			orientation(st.orient === 'flame' ? 'icicle' : 'flame');
		});
		document.addEventListener('keydown', onKey);
		window.addEventListener('resize', function () {
			clearTimeout(timer);
			timer = setTimeout(layout, 60);
		});
	}

	ui.details = byId('details');
	ui.matched = byId('matched');
	ui.unzoom = byId('unzoom');
	ui.search = byId('search');
	ui.ic = byId('ignorecase');
	ui.orient = byId('orient');
	collect();
	svg.removeAttribute('width');
	measure();
	layout();
	restore();
	listen();

	window.peekaFlame = {
		search: search,
		resetSearch: resetSearch,
		ignoreCase: ignoreCase,
		zoom: function (el) {
			var f = frameOf(el);

			if (!f)
				throw new Error('not a frame of this flame graph');
			zoomTo(f);
			return true;
		},
		reset: reset,
		orientation: orientation,
		state: function () {
			return {
				zoom: st.zoom ? { x: st.zoom.x, depth: st.zoom.d } : null,
				search: st.src, ignoreCase: st.ic,
				orientation: st.orient, matched: st.matched
			};
		}
	};
})();
