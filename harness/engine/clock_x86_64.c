/* SPDX-License-Identifier: MIT */
/*
 * clock_x86_64.c - the TSC part of the engine's clock (clock.h) on x86-64: reading it, and
 * whether it is safe on this thread.
 */
#include <cpuid.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <x86intrin.h>

#include "clock.h"

#define CLOCKSOURCE "/sys/devices/system/clocksource/clocksource0/current_clocksource"

uint64_t hx_clock_ticks(void)
{
	return __rdtsc();
}

/* The kernel keeps time on the TSC only where it is invariant and synchronized across CPUs. */
static bool clocksource_is_tsc(void)
{
	char src[32] = "";
	FILE *f = fopen(CLOCKSOURCE, "r");

	if (f == NULL)
		return false;
	if (fgets(src, sizeof(src), f) == NULL)
		src[0] = '\0';
	fclose(f);
	return strcmp(src, "tsc\n") == 0;
}

/* Invariant TSC: CPUID 0x80000007, EDX bit 8. Pinned to one CPU: one counter read. */
static bool pinned_with_invariant_tsc(void)
{
	unsigned int a, b, c, d;
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) != 0 || CPU_COUNT(&set) != 1)
		return false;
	return __get_cpuid(0x80000007, &a, &b, &c, &d) && (d & (1u << 8));
}

bool hx_clock_tsc_safe(void)
{
	return clocksource_is_tsc() || pinned_with_invariant_tsc();
}
