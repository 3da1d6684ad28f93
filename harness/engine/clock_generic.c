/* SPDX-License-Identifier: MIT */
/*
 * clock_generic.c - the architecture part of the engine's clock (clock.h) where tcplab knows
 * no cycle counter to trust: the clock is CLOCK_MONOTONIC.
 */
#include "clock.h"

uint64_t hx_clock_ticks(void)
{
	return 0;
}

bool hx_clock_tsc_safe(void)
{
	return false;
}
