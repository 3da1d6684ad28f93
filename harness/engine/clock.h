/* SPDX-License-Identifier: MIT */
/*
 * clock.h - the engine's clock: CLOCK_MONOTONIC, read as the TSC where that is safe.
 *
 * Safe means no two readings can disagree: the kernel's clocksource is the TSC (so it is
 * invariant and synchronized across CPUs), or the CPU says its TSC is invariant and the
 * reading thread is pinned to one CPU (the lwip backend's polling lcore), so every reading
 * comes from the same counter. The second case is a VM on kvm-clock, where clock_gettime
 * costs 27 ns against 11 for a TSC read, and where DPDK (the raw memif floor, lwIP's timers)
 * reads the TSC anyway; a request/response reads the clock twice per transaction.
 *
 * hx_clock_init() measures the TSC's rate against CLOCK_MONOTONIC over 10 ms, from the
 * reading pairs that bracket it tightest: off by a few parts per million at most, so a 10 s
 * run drifts from the kernel's clock by tens of microseconds. Elsewhere, or where the TSC is
 * not safe, the clock is CLOCK_MONOTONIC itself.
 *
 * The architecture's part (hx_clock_ticks, hx_clock_tsc_safe) is clock_x86_64.c, or
 * clock_generic.c where there is no TSC; meson picks the file.
 *
 * Threading rule: a struct hx_clock is set up and read by one thread, since its safety may
 * rest on that thread's pinning.
 */
#ifndef HX_CLOCK_H
#define HX_CLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct hx_clock {
	bool tsc;		/* read the TSC rather than CLOCK_MONOTONIC */
	uint64_t base;		/* a TSC reading */
	int64_t base_ns;	/* the CLOCK_MONOTONIC time it was taken at */
	double ns_per_tick;
};

/** CLOCK_MONOTONIC in ns: what every tcplab process times with, outside the engine. */
static inline int64_t hx_clock_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/** The TSC now (clock_x86_64.c); 0 where there is none (clock_generic.c). */
uint64_t hx_clock_ticks(void);

/** Whether the TSC is a safe clock for the calling thread, as the header says. */
bool hx_clock_tsc_safe(void);

/**
 * Set @p c up for the calling thread: on the TSC where hx_clock_tsc_safe() says so (this
 * spends 10 ms measuring its rate), else on CLOCK_MONOTONIC.
 */
void hx_clock_init(struct hx_clock *c);

/** The time in ns on CLOCK_MONOTONIC's scale. */
static inline int64_t hx_clock_now(const struct hx_clock *c)
{
	if (c->tsc)
		return c->base_ns +
		       (int64_t)((double)(hx_clock_ticks() - c->base) * c->ns_per_tick);
	return hx_clock_monotonic_ns();
}

#endif /* HX_CLOCK_H */
