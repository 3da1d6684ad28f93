/* SPDX-License-Identifier: MIT */
/*
 * clock.h - the one clock of a DPDK stack: the TSC as DPDK calibrated it (rte_rdtsc,
 * rte_get_tsc_hz). A stack's poll loop, its timers, its socket-call deadlines and its OS
 * port's sys_now all read this, so they agree on what time it is and cost one TSC read.
 * Valid once dpk_eal_start has run (DPDK measures the TSC's rate in rte_eal_init); before,
 * the rate is 0 and every conversion below says 0.
 */
#ifndef DPK_CLOCK_H
#define DPK_CLOCK_H

#include <stdint.h>

#include <rte_cycles.h>

/** Now, in TSC cycles: the cheapest read, for the hot loop. */
static inline uint64_t dpk_clock_cycles(void)
{
	return rte_rdtsc();
}

/** TSC cycles per second. */
static inline uint64_t dpk_clock_hz(void)
{
	return rte_get_tsc_hz();
}

/** @p ms milliseconds in TSC cycles (for ms below 2^64 / hz: 70 days at 3 GHz). */
static inline uint64_t dpk_clock_cycles_of_ms(uint64_t ms)
{
	return ms * dpk_clock_hz() / 1000;
}

/** @p us microseconds in TSC cycles. */
static inline uint64_t dpk_clock_cycles_of_us(uint64_t us)
{
	return us * dpk_clock_hz() / 1000000;
}

/** Now, in ns since an arbitrary start (for deadlines, not for the hot loop: it divides). */
static inline uint64_t dpk_clock_ns(void)
{
	uint64_t c = dpk_clock_cycles(), hz = dpk_clock_hz();

	return hz == 0 ? 0 : c / hz * 1000000000u + c % hz * 1000000000u / hz;
}

/*
 * A socket timeout as a deadline, for the blocking calls a polling stack makes of
 * non-blocking ones and its poll loop (SO_RCVTIMEO, SO_SNDTIMEO): dpk_deadline_of gives the
 * dpk_clock_ns deadline of @p timeout_ms (0: none, also 0), dpk_ms_left the whole ms left
 * before it (at least 1), 0 once it passed, -1 when there is none.
 */
static inline int64_t dpk_deadline_of(int timeout_ms)
{
	return timeout_ms > 0 ? (int64_t)dpk_clock_ns() + (int64_t)timeout_ms * 1000000 : 0;
}

static inline int dpk_ms_left(int64_t deadline)
{
	int64_t left;

	if (deadline == 0)
		return -1;
	left = deadline - (int64_t)dpk_clock_ns();
	return left <= 0 ? 0 : (int)((left + 999999) / 1000000);
}

/** Now, in ms since an arbitrary start. */
static inline uint64_t dpk_clock_ms(void)
{
	uint64_t hz = dpk_clock_hz();

	return hz < 1000 ? 0 : dpk_clock_cycles() / (hz / 1000);
}

#endif /* DPK_CLOCK_H */
