/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Printing text that came from the target (names, paths, command lines)
 * so that it can neither forge output lines nor send terminal escapes:
 * control characters, DEL and invalid UTF-8 are written as \xNN.
 */
#ifndef PEEKA_TEXT_OUT_H
#define PEEKA_TEXT_OUT_H

#include <stdio.h>

/* Write @s to @f with unsafe bytes escaped. */
void text_out__put(FILE *f, const char *s);

#endif
