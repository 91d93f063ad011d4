/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The .peeka recording format (version 1), shared by rec_write and
 * rec_read.  docs/recording-format.md says the same in prose.
 *
 * A file is a sequence of zstd frames, so `zstd -dc` reads it:
 *
 *   1. A skippable frame (magic REC_SKIPPABLE_MAGIC, little-endian u32
 *      size, payload): REC_FILE_MAGIC (8 bytes), u16 format version, u16
 *      zero, then META records, uncompressed: the header.
 *   2. zstd frames (content checksums on) holding the record stream.  The
 *      writer flushes at least once a second (everything before a flush
 *      decodes from the bytes on disk) and starts a new frame every
 *      REC_FRAME_INPUT bytes of input.
 *
 * A record is a tag byte, a varint payload length and the payload, so a
 * reader skips tags it does not know and detects a torn last record.
 * Payload integers are LEB128 varints; a string is a varint length and
 * its bytes.  Ids are dense, start at 1, are defined before first use and
 * never reused; a THREAD or PROCESS record may be repeated to rename.
 */
#ifndef PEEKA_REC_FORMAT_H
#define PEEKA_REC_FORMAT_H

#define REC_SKIPPABLE_MAGIC 0x184D2A50u
#define REC_FILE_MAGIC "PEEKAREC"
#define REC_FORMAT_VERSION 1
#define REC_FRAME_INPUT (16u << 20)
#define REC_FLUSH_NS 1000000000ULL
#define REC_RECORD_MAX (1u << 20)   /* a longer payload is corruption */

enum rec_tag {
	/* key string, value string.  Header keys: peeka, pid, cmdline,
	 * python, rate, start_unix_ns; at the end: samples, errors, ... */
	REC_META = 1,
	/* id, bytes */
	REC_STRING = 2,
	/* id, name string id (qualified name), file string id, first line */
	REC_FUNC = 3,
	/* id, function id, line + 1 (0: no line) */
	REC_FRAME = 4,
	/* id, parent stack id (0: none), frame id: a prefix-tree node, the
	 * frame innermost; a stack is its chain of nodes, root first */
	REC_STACK = 5,
	/* pid, label string id ("process <pid> \"<cmdline>\"") */
	REC_PROCESS = 6,
	/* index, pid, native id (0: unknown), thread id, name string id
	 * (0: unknown) */
	REC_THREAD = 7,
	/* thread index, microseconds since the previous SAMPLE (or since
	 * start_unix_ns), stack id (0: none), flags (REC_F_*) */
	REC_SAMPLE = 8,
	/* stdlib string id (0: unknown), count, that many string ids: the
	 * target's sys.path, for short file names and frame classes */
	REC_SYS_PATH = 9,
	/* no payload: the recording ended cleanly */
	REC_END = 10,
};

enum rec_flag {
	REC_F_ACTIVE = 1,   /* running (OS state R) or holding the GIL */
	REC_F_GIL = 2,      /* held the GIL */
	REC_F_ERROR = 4,    /* the stack could not be read (torn) */
};

#endif
