/* SPDX-License-Identifier: MIT */
/*
 * scenario_dir.h - where scenarios live and how a name becomes a file. A scenario's name is
 * its file's stem under scenarios/ (NAME.scn); a NAME holding a '/' is taken as a path.
 * The tree scenarios/ is in: $TCPLAB_ROOT, else an installed tcplab's own (meson install:
 * <datadir>/tcplab, found from the executable's path), else the source tree it was built from.
 */
#ifndef HX_SCENARIO_DIR_H
#define HX_SCENARIO_DIR_H

#include <stddef.h>

#define HX_SCENARIO_EXT ".scn"

/**
 * The tcplab tree (scenarios/, results/): $TCPLAB_ROOT when set; else, for an installed
 * binary, <datadir>/tcplab as seen from /proc/self/exe (<bindir>/../share/tcplab by default),
 * where that holds scenarios/; else the source tree this binary was built from.
 */
const char *hx_source_root(void);

/**
 * Resolve @p name to a file. Returns 0, or -ENOENT after printing
 * "unknown scenario 'x' (valid: a, b, c)" on stderr.
 */
int hx_scenario_path(const char *name, char *path, size_t len);

/** Scenario names in scenarios/, sorted; returns how many (fills at most @p max). */
unsigned int hx_scenario_names(char names[][64], unsigned int max);

#endif /* HX_SCENARIO_DIR_H */
