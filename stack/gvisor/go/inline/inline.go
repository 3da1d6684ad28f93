// SPDX-License-Identifier: MIT

// Package inline runs netstack's TCP processing on the polling thread, inside the crossing
// that delivered the segments, instead of leaving it to netstack's processor goroutines.
//
// Why: netstack's TCP dispatcher (transport/tcp/dispatcher.go) queues every inbound segment's
// endpoint for a processor goroutine and wakes it. Inside a cgo callback the calling
// goroutine is locked to its thread, so letting that goroutine run (runtime.Gosched) hands
// the P to another thread and back (two futex wake-ups on a pinned core), and not letting it
// run leaves it to the runtime's sysmon: either way 75-90 us of echo_rr p50 on this VM
// (stack/gvisor/README.md). Drain does what a processor's loop does for its queue
// (processor.start), on this thread: the same handlers, the same requeue rule, and the same
// endpoint try-lock. The processor goroutines are paused meanwhile (netstack's own
// Pause, made for save/restore): they wait on a channel, so a segment's wake-up of their
// sleeper readies no goroutine, and no thread of the runtime wakes for it.
//
// How: the dispatcher's processors and the handlers are unexported; they are reached by
// go:linkname (allowed by Go 1.19) and by reflect for the fields' places, found by name at
// Init. A netstack whose layout differs makes Init fail with the reason, and the plug-in
// then runs netstack's goroutines as they are.
package inline

import (
	"fmt"
	"reflect"
	"unsafe"

	gsync "gvisor.dev/gvisor/pkg/sync"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
)

//go:linkname epqDequeue gvisor.dev/gvisor/pkg/tcpip/transport/tcp.(*epQueue).dequeue
func epqDequeue(q unsafe.Pointer) unsafe.Pointer

//go:linkname epqEnqueue gvisor.dev/gvisor/pkg/tcpip/transport/tcp.(*epQueue).enqueue
func epqEnqueue(q unsafe.Pointer, ep unsafe.Pointer)

//go:linkname handleConnecting gvisor.dev/gvisor/pkg/tcpip/transport/tcp.(*processor).handleConnecting
func handleConnecting(p, ep unsafe.Pointer)

//go:linkname handleConnected gvisor.dev/gvisor/pkg/tcpip/transport/tcp.(*processor).handleConnected
func handleConnected(p, ep unsafe.Pointer)

//go:linkname handleTimeWait gvisor.dev/gvisor/pkg/tcpip/transport/tcp.(*processor).handleTimeWait
func handleTimeWait(p, ep unsafe.Pointer)

//go:linkname handleListen gvisor.dev/gvisor/pkg/tcpip/transport/tcp.(*processor).handleListen
func handleListen(p, ep unsafe.Pointer)

//go:linkname epState gvisor.dev/gvisor/pkg/tcpip/transport/tcp.(*endpoint).EndpointState
func epState(ep unsafe.Pointer) tcp.EndpointState

//go:linkname ownedByUser gvisor.dev/gvisor/pkg/tcpip/transport/tcp.(*endpoint).isOwnedByUser
func ownedByUser(ep unsafe.Pointer) bool

//go:linkname drainClosing gvisor.dev/gvisor/pkg/tcpip/transport/tcp.(*endpoint).drainClosingSegmentQueue
func drainClosing(ep unsafe.Pointer)

// closing redelivers or resets what reached an endpoint in CLOSE or ERROR.
func (r *Runner) closing(ep unsafe.Pointer) {
	mu := (*gsync.CrossGoroutineMutex)(unsafe.Add(ep, r.muOff))
	mu.Lock()
	if st := epState(ep); st == tcp.StateError || st == tcp.StateClose {
		drainClosing(ep)
	}
	mu.Unlock()
}

//go:linkname sqEmpty gvisor.dev/gvisor/pkg/tcpip/transport/tcp.(*segmentQueue).empty
func sqEmpty(q unsafe.Pointer) bool

// Runner drains the TCP processors of one stack.
type Runner struct {
	proto    stack.TransportProtocol
	procs    unsafe.Pointer // the dispatcher's []processor
	n        int
	procSize uintptr
	epqOff   uintptr // processor.epQ
	sqOff    uintptr // endpoint.segmentQueue
	muOff    uintptr // endpoint.mu
}

func field(t reflect.Type, name string) (reflect.StructField, error) {
	f, ok := t.FieldByName(name)
	if !ok {
		return f, fmt.Errorf("netstack's %s has no field %s", t, name)
	}
	return f, nil
}

// Init finds the processors of @s's TCP; ep is any TCP endpoint of it (for its layout).
func Init(s *stack.Stack, ep tcpip.Endpoint) (*Runner, error) {
	proto := reflect.ValueOf(s.TransportProtocolInstance(tcp.ProtocolNumber))
	et := reflect.TypeOf(ep)
	if proto.Kind() != reflect.Pointer || et.Kind() != reflect.Pointer {
		return nil, fmt.Errorf("netstack's TCP protocol or endpoint is not a pointer")
	}
	d := proto.Elem().FieldByName("dispatcher")
	if !d.IsValid() {
		return nil, fmt.Errorf("netstack's TCP protocol has no dispatcher")
	}
	ps := d.FieldByName("processors")
	if !ps.IsValid() || ps.Kind() != reflect.Slice {
		return nil, fmt.Errorf("netstack's TCP dispatcher has no processors")
	}
	q, err := field(ps.Type().Elem(), "epQ")
	if err != nil {
		return nil, err
	}
	sq, err := field(et.Elem(), "segmentQueue")
	if err != nil {
		return nil, err
	}
	mu, err := field(et.Elem(), "mu")
	if err != nil || mu.Type != reflect.TypeOf(gsync.CrossGoroutineMutex{}) {
		return nil, fmt.Errorf("netstack's TCP endpoint has no mu of the expected type")
	}
	r := &Runner{proto: s.TransportProtocolInstance(tcp.ProtocolNumber),
		procs: unsafe.Pointer(ps.Pointer()), n: ps.Len(),
		procSize: ps.Type().Elem().Size(), epqOff: q.Offset, sqOff: sq.Offset, muOff: mu.Offset}
	r.proto.Pause()
	return r, nil
}

// Stop gives TCP back to netstack's processor goroutines (before the stack closes).
func (r *Runner) Stop() {
	r.Drain()
	r.proto.Resume()
}

// Drain handles every endpoint queued on the processors, as processor.start does.
func (r *Runner) Drain() {
	for i := 0; i < r.n; i++ {
		p := unsafe.Add(r.procs, uintptr(i)*r.procSize)
		q := unsafe.Add(p, r.epqOff)
		for {
			ep := epqDequeue(q)
			if ep == nil {
				break
			}
			if sqEmpty(unsafe.Add(ep, r.sqOff)) {
				continue
			}
			switch st := epState(ep); st {
			case tcp.StateConnecting, tcp.StateSynSent, tcp.StateSynRecv:
				handleConnecting(p, ep)
			case tcp.StateEstablished, tcp.StateFinWait1, tcp.StateFinWait2,
				tcp.StateCloseWait, tcp.StateLastAck, tcp.StateClosing:
				handleConnected(p, ep)
			case tcp.StateTimeWait:
				handleTimeWait(p, ep)
			case tcp.StateListen:
				handleListen(p, ep)
			default:
				// closed or in error: what processor.start does, under the lock
				r.closing(ep)
			}
			if !sqEmpty(unsafe.Add(ep, r.sqOff)) && !ownedByUser(ep) {
				epqEnqueue(q, ep)
			}
		}
	}
}
