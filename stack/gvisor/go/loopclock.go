// SPDX-License-Identifier: MIT

// loopclock.go - netstack's clock (tcpip.Clock) with its timers run by the polling thread.
//
// netstack's default clock runs each timer (retransmission, delayed work, keepalive,
// TIME_WAIT, neighbour cache) as a Go runtime timer: every send re-arms one, and a re-armed
// timer that becomes the earliest wakes a runtime thread parked in netpoll (a write to an
// eventfd and a context switch, on the polling thread's core). Here timers are a heap that
// the polling thread runs: at every crossing (run), and when the glue sees the earliest
// deadline pass (gv_shared.next_timer_ns, CLOCK_MONOTONIC like runtime.nanotime), as lwIP's
// timers are run by its loop. A timer may be set, reset or stopped from any goroutine.
package main

import (
	"container/heap"
	"math"
	"sync"
	"sync/atomic"
	"time"
	_ "unsafe" // go:linkname

	"gvisor.dev/gvisor/pkg/tcpip"
)

//go:linkname nanotime runtime.nanotime
func nanotime() int64

type loopTimer struct {
	c    *loopClock
	f    func()
	when int64
	idx  int // in the heap; -1: not armed
}

type timerHeap []*loopTimer

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].when < h[j].when }
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}
func (h *timerHeap) Push(x any) {
	t := x.(*loopTimer)
	t.idx = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.idx = -1
	return t
}

type loopClock struct {
	mu   sync.Mutex
	h    timerHeap
	next *int64 // where the glue reads the earliest deadline
}

func newLoopClock(next *int64) *loopClock {
	c := &loopClock{next: next}
	atomic.StoreInt64(next, math.MaxInt64)
	return c
}

func (c *loopClock) Now() time.Time { return time.Now() }

func (c *loopClock) NowMonotonic() tcpip.MonotonicTime {
	var m tcpip.MonotonicTime
	return m.Add(time.Duration(nanotime()))
}

// publish stores the earliest deadline; c.mu held.
func (c *loopClock) publish() {
	next := int64(math.MaxInt64)
	if len(c.h) > 0 {
		next = c.h[0].when
	}
	atomic.StoreInt64(c.next, next)
}

func (c *loopClock) AfterFunc(d time.Duration, f func()) tcpip.Timer {
	t := &loopTimer{c: c, f: f, idx: -1}
	t.Reset(d)
	return t
}

func (t *loopTimer) Reset(d time.Duration) {
	c := t.c
	c.mu.Lock()
	t.when = nanotime() + int64(d)
	if t.idx >= 0 {
		heap.Fix(&c.h, t.idx)
	} else {
		heap.Push(&c.h, t)
	}
	c.publish()
	c.mu.Unlock()
}

func (t *loopTimer) Stop() bool {
	c := t.c
	c.mu.Lock()
	armed := t.idx >= 0
	if armed {
		heap.Remove(&c.h, t.idx)
		c.publish()
	}
	c.mu.Unlock()
	return armed
}

// run fires the timers that are due, on the calling (polling) thread; a timer a callback
// arms for now or earlier runs in the same call.
func (c *loopClock) run() {
	now := nanotime()
	for {
		c.mu.Lock()
		if len(c.h) == 0 || c.h[0].when > now {
			c.publish()
			c.mu.Unlock()
			return
		}
		t := heap.Pop(&c.h).(*loopTimer)
		c.mu.Unlock()
		t.f()
	}
}
