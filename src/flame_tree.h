/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The prefix tree ("merged stacks") of a profile, as flame graphs draw it:
 * one node per distinct root-first path, siblings ordered by label (byte
 * order) so the layout does not depend on the order stacks were recorded,
 * each node's first sample and width in samples, and the pruning threshold
 * that keeps a drawing under a frame budget.  No output happens here.
 */
#ifndef PEEKA_FLAME_TREE_H
#define PEEKA_FLAME_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "profile.h"

#define FLAME_ROOT_FRAME UINT32_MAX

struct flame_node {
	uint32_t frame;     /* profile frame id; FLAME_ROOT_FRAME for the root */
	uint32_t parent;    /* node index; the root is its own parent */
	uint32_t depth;     /* 0 for the root */
	uint32_t first;     /* children: kids[first .. first + nkids) */
	uint32_t nkids;
	uint64_t total;     /* samples in this subtree */
	uint64_t start;     /* samples left of this node on its level */
};

/*
 * nodes[0] is the root ("all"); a parent's index is always lower than its
 * children's.  kids[] holds node indices, each node's children together
 * and sorted by label.
 */
struct flame_tree {
	struct flame_node *nodes;
	size_t n, cap;
	uint32_t *kids;
};

/*
 * Build the tree of every sampled stack of @p into @t (overwritten).
 * Returns 0, -ENOMEM, or -EOVERFLOW beyond 2^32 - 2 nodes; on error @t
 * holds nothing that needs releasing.
 */
int flame_tree__build(struct flame_tree *t, const struct profile *p);

/* Free what @t owns and leave it empty. */
void flame_tree__release(struct flame_tree *t);

/*
 * The smallest node width in samples that is drawn: at least @min_pct
 * percent of the total, raised until at most @max_frames nodes are that
 * wide.  The root is always drawn and counts against the budget.
 * *@hidden gets the number of narrower nodes.  Because a child is never
 * wider than its parent, the drawn nodes form a tree themselves.  Returns
 * UINT64_MAX when out of memory.
 */
uint64_t flame_tree__threshold(const struct flame_tree *t, double min_pct,
			       size_t max_frames, size_t *hidden);

#endif
