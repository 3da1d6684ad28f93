// SPDX-License-Identifier: MIT

// netstack.go - the Go half of the gvisor plug-in: gVisor's netstack (Debian's
// golang-gvisor-gvisor-dev, built offline in GOPATH mode) behind a few C-callable functions
// (gv*), built as a c-shared object that the C half (gvisor.c) links. The C half owns the
// DPDK port and the ops table; this half owns netstack: one stack, one NIC (ethernet over a
// channel endpoint, both netstack's own), and the socket table.
//
// Runtime: GOMAXPROCS is 1, so netstack's TCP dispatcher runs one processor goroutine and
// every goroutine of the stack shares one P with the polling thread's calls. The polling
// thread is bound to the Go runtime for the instance's life (gvBind, bind.c),
// so a crossing from C is a callback on an M it already has (about 0.1 us) rather than
// Go 1.19's borrow-and-return of an extra M per call (about 1.6 us: stack/gvisor/README.md).
// Inbound segments are queued by netstack for its processor goroutine; the crossing that
// injected them yields (runtime.Gosched), so that goroutine handles them on this thread
// before the crossing returns. Timers (retransmission, delayed ACK, TIME_WAIT) fire on the
// runtime's own threads while the polling thread is in C; what they send waits in the
// channel endpoint, and tx_waiting (gv_shared.h) tells the glue to cross and take it.
package main

/*
#cgo CFLAGS: -I${SRCDIR}/.. -O2
#include <stdint.h>
#include "gv_shared.h"
#include "bind.h"
*/
import "C"

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"gvisor.dev/gvisor/pkg/bufferv2"
	"gvisor.dev/gvisor/pkg/syserr"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/channel"
	"gvisor.dev/gvisor/pkg/tcpip/link/ethernet"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/waiter"

	"./inline"
)

const (
	nicID = 1
	// frames netstack may queue for the port between two crossings; more are dropped
	// (drop_tx_queue_full) and TCP retransmits them
	txQueueLen = 4096
	// Linux errno values the glue's contract names (the rest come from syserr)
	eAGAIN      = 11
	eBADF       = 9
	eINVAL      = 22
	eNOPROTOOPT = 92
	eEMFILE     = 24
	eNETDOWN    = 100
)

// Linux option levels and names (<sys/socket.h>, <netinet/in.h>, <netinet/tcp.h>)
const (
	solSocket      = 1
	solIP          = 0
	solTCP         = 6
	soReuseAddr    = 2
	soType         = 3
	soError        = 4
	soSndBuf       = 7
	soRcvBuf       = 8
	soKeepAlive    = 9
	soOOBInline    = 10
	soLinger       = 13
	soReusePort    = 15
	soAcceptConn   = 30
	soRcvLowat     = 18
	ipTOS          = 1
	ipTTL          = 2
	tcpNoDelay     = 1
	tcpMaxSeg      = 2
	tcpCork        = 3
	tcpKeepIdle    = 4
	tcpKeepIntvl   = 5
	tcpKeepCnt     = 6
	tcpSynCnt      = 7
	tcpLinger2     = 8
	tcpDeferAccept = 9
	tcpWindowClamp = 10
	tcpQuickAck    = 12
	tcpUserTimeout = 18
)

// A socket of the table: a netstack endpoint and the waiter entry that marks it dirty.
type gsock struct {
	ep    tcpip.Endpoint
	wq    *waiter.Queue
	entry waiter.Entry
	ready uint16
}

// The link endpoint: netstack's channel endpoint, counting what its queue refused.
type portLink struct {
	*channel.Endpoint
	dropsFull atomic.Uint64
}

func (l *portLink) WritePackets(pkts stack.PacketBufferList) (int, tcpip.Error) {
	n, err := l.Endpoint.WritePackets(pkts)
	if short := pkts.Len() - n; short > 0 {
		l.dropsFull.Add(uint64(short))
	}
	return n, err
}

// The one instance (netstack, like DPDK's EAL, is one per process here).
type instance struct {
	st     *stack.Stack
	link   *portLink
	sh     *C.struct_gv_shared
	socks  []*gsock
	free   []int
	open   int
	opened uint64
	// sockets whose readiness changed, from any goroutine
	dirtyMu sync.Mutex
	dirty   []int
	reader  bytes.Reader
	// a lingering close's endpoint (gvClose, gvLingered)
	lingering tcpip.Endpoint
	// netstack's TCP processing on the polling thread (package inline); nil: its goroutines
	inl    *inline.Runner
	inlOff bool
	// netstack's timers, run by the polling thread (loopclock.go); nil: Go's runtime timers
	clock                           *loopClock
	rxFrames, txFrames, txSlotsFull uint64
}

var g *instance

// notifier: the channel endpoint's write notification, from any goroutine
type notifier struct{}

func (notifier) WriteNotify() {
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&g.sh.tx_waiting)), 1)
}

//export gvBind
func gvBind() {
	// the polling thread stays inside this call (in C, gv_park) until the instance ends
	C.gv_park()
}

func setErr(err *C.char, errLen C.int, msg string) {
	b := unsafe.Slice((*byte)(unsafe.Pointer(err)), int(errLen))
	n := copy(b[:len(b)-1], msg)
	b[n] = 0
}

//export gvStart
func gvStart(sh *C.struct_gv_shared, mac *C.uint8_t, ip *C.uint8_t, prefix C.int, mtu C.uint,
	checksum C.int, procs C.int, inl C.int, loopTimers C.int, twReuse C.int, err *C.char, errLen C.int) C.int {
	if g != nil {
		setErr(err, errLen, "gvisor: netstack already runs in this process")
		return -16 // EBUSY
	}
	runtime.GOMAXPROCS(int(procs))
	opts := stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, arp.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol},
	}
	var clock *loopClock
	if loopTimers != 0 {
		clock = newLoopClock((*int64)(unsafe.Pointer(&sh.next_timer_ns)))
		opts.Clock = clock
	} else {
		atomic.StoreInt64((*int64)(unsafe.Pointer(&sh.next_timer_ns)), math.MaxInt64)
	}
	s := stack.New(opts)
	hw := tcpip.LinkAddress(C.GoBytes(unsafe.Pointer(mac), 6))
	// the channel's MTU is the link's: the ethernet endpoint takes its header off it
	ch := channel.New(txQueueLen, uint32(mtu)+header.EthernetMinimumSize, hw)
	if checksum == 0 {
		ch.LinkEPCapabilities |= stack.CapabilityRXChecksumOffload |
			stack.CapabilityTXChecksumOffload
	}
	inst := &instance{st: s, link: &portLink{Endpoint: ch}, sh: sh, inlOff: inl == 0,
		clock: clock}
	g = inst
	ch.AddNotify(notifier{})
	if e := s.CreateNIC(nicID, ethernet.New(inst.link)); e != nil {
		setErr(err, errLen, "gvisor: CreateNIC: "+e.String())
		g = nil
		return -eINVAL
	}
	addr := tcpip.Address(C.GoBytes(unsafe.Pointer(ip), 4))
	pa := tcpip.ProtocolAddress{Protocol: ipv4.ProtocolNumber,
		AddressWithPrefix: tcpip.AddressWithPrefix{Address: addr, PrefixLen: int(prefix)}}
	if e := s.AddProtocolAddress(nicID, pa, stack.AddressProperties{}); e != nil {
		setErr(err, errLen, "gvisor: AddProtocolAddress: "+e.String())
		g = nil
		return -eINVAL
	}
	s.SetRouteTable([]tcpip.Route{{Destination: pa.AddressWithPrefix.Subnet(), NIC: nicID}})
	// Linux's defaults where netstack's differ: SACK on (net.ipv4.tcp_sack), receive
	// buffer auto-tuning on (tcp_moderate_rcvbuf)
	sack := tcpip.TCPSACKEnabled(true)
	s.SetTransportProtocolOption(tcp.ProtocolNumber, &sack)
	mod := tcpip.TCPModerateReceiveBufferOption(true)
	s.SetTransportProtocolOption(tcp.ProtocolNumber, &mod)
	// Nagle on, as on Linux (netstack's TCPDelayEnabled defaults to off)
	delay := tcpip.TCPDelayEnabled(true)
	s.SetTransportProtocolOption(tcp.ProtocolNumber, &delay)
	// reuse of a TIME_WAIT port for a new connection (tw_reuse=, gvisor.c says why)
	tw := tcpip.TCPTimeWaitReuseOption(twReuse)
	s.SetTransportProtocolOption(tcp.ProtocolNumber, &tw)
	// net.ipv4.ip_local_port_range's default (netstack's starts at 16000)
	s.SetPortRange(32768, 60999)
	return 0
}

// errno is the one place where a netstack error becomes a negative Linux errno: netstack's
// own translation (gVisor's syserr, what its sentry returns to Linux programs).
func errno(e tcpip.Error) C.int {
	if e == nil {
		return 0
	}
	if _, ok := e.(*tcpip.ErrWouldBlock); ok {
		return -eAGAIN
	}
	return -C.int(syserr.TranslateNetstackError(e).ToLinux())
}

func (in *instance) sock(s C.int) *gsock {
	if s < 0 || int(s) >= len(in.socks) {
		return nil
	}
	return in.socks[s]
}

func (in *instance) markDirty(s int) {
	in.dirtyMu.Lock()
	in.dirty = append(in.dirty, s)
	in.dirtyMu.Unlock()
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&in.sh.dirty)), 1)
}

// add puts a new endpoint in the table, watching every event.
func (in *instance) add(ep tcpip.Endpoint, wq *waiter.Queue) C.int {
	var s int
	if n := len(in.free); n > 0 {
		s, in.free = in.free[n-1], in.free[:n-1]
	} else if len(in.socks) < C.GV_MAX_SOCKETS {
		s = len(in.socks)
		in.socks = append(in.socks, nil)
	} else {
		ep.Close()
		return -eEMFILE
	}
	k := &gsock{ep: ep, wq: wq}
	k.entry = waiter.NewFunctionEntry(waiter.EventIn|waiter.EventOut|waiter.EventErr|
		waiter.EventHUp, func(waiter.EventMask) { in.markDirty(s) })
	wq.EventRegister(&k.entry)
	in.socks[s] = k
	in.open++
	in.opened++
	in.refresh(s)
	return C.int(s)
}

// refresh stores socket s's readiness where the glue's poll reads it.
func (in *instance) refresh(s int) {
	k := in.socks[s]
	var r waiter.EventMask
	if k != nil {
		r = k.ep.Readiness(waiter.EventIn | waiter.EventOut | waiter.EventErr |
			waiter.EventHUp)
	}
	in.sh.ready[s] = C.uint16_t(r)
	in.changed(s)
}

// changed lists socket s for the glue's wait sets (gv_shared.h, changed[]), once.
func (in *instance) changed(s int) {
	if in.sh.changed_mark[s] == 0 {
		in.sh.changed_mark[s] = 1
		in.sh.changed[in.sh.n_changed] = C.int32_t(s)
		in.sh.n_changed++
	}
}

// settle lets netstack's goroutines run what the last calls queued for them, then moves
// the frames they sent into the TX slots and the readiness they changed into ready[].
func (in *instance) settle(yield bool) {
	if in.clock != nil {
		in.clock.run()
	}
	if in.inl != nil {
		in.inl.Drain()
	} else if yield {
		runtime.Gosched()
	}
	in.drain()
	if atomic.SwapUint32((*uint32)(unsafe.Pointer(&in.sh.dirty)), 0) != 0 {
		in.dirtyMu.Lock()
		d := in.dirty
		in.dirty = nil
		in.dirtyMu.Unlock()
		for _, s := range d {
			if s < len(in.socks) {
				in.refresh(s)
			}
		}
	}
}

// drain copies queued frames into the free TX slots, in order.
func (in *instance) drain() {
	sh := in.sh
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&sh.tx_waiting)), 0)
	slot := int(sh.slot_size)
	slots := unsafe.Slice((*byte)(unsafe.Pointer(sh.tx_slots)), slot*C.GV_TX_SLOTS)
	for n := int(sh.tx_n); ; n++ {
		if n == C.GV_TX_SLOTS {
			if in.link.NumQueued() > 0 {
				in.txSlotsFull++
				atomic.StoreUint32((*uint32)(unsafe.Pointer(&sh.tx_waiting)), 1)
			}
			return
		}
		pkt := in.link.Read()
		if pkt.IsNil() {
			return
		}
		dst := slots[n*slot : (n+1)*slot]
		w := 0
		for _, v := range pkt.AsSlices() {
			w += copy(dst[w:], v)
		}
		pkt.DecRef()
		sh.tx_len[n] = C.uint16_t(w)
		sh.tx_n = C.uint32_t(n + 1)
		in.txFrames++
	}
}

//export gvPoll
func gvPoll() {
	in := g
	sh := in.sh
	for i := 0; i < int(sh.rx_n); i++ {
		// runts and chained mbufs stayed in C (drop_rx_bad_frame)
		b := unsafe.Slice((*byte)(unsafe.Pointer(sh.rx_data[i])), int(sh.rx_len[i]))
		pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{
			Payload: bufferv2.MakeWithData(b),
		})
		in.link.InjectInbound(0, pkt)
		pkt.DecRef()
		in.rxFrames++
	}
	injected := sh.rx_n > 0
	sh.rx_n = 0
	in.settle(injected)
}

//export gvSocket
func gvSocket() C.int {
	in := g
	wq := &waiter.Queue{}
	ep, e := in.st.NewEndpoint(tcp.ProtocolNumber, ipv4.ProtocolNumber, wq)
	if e != nil {
		return errno(e)
	}
	if in.inl == nil && !in.inlOff {
		r, err := inline.Init(in.st, ep)
		if err != nil {
			fmt.Fprintf(os.Stderr, "gvisor: TCP on netstack's goroutines: %v\n", err)
			in.inlOff = true
		}
		in.inl = r
	}
	return in.add(ep, wq)
}

func fullAddr(ip *C.uint8_t, port C.int) tcpip.FullAddress {
	a := tcpip.Address(C.GoBytes(unsafe.Pointer(ip), 4))
	if a == "\x00\x00\x00\x00" {
		a = ""
	}
	return tcpip.FullAddress{Addr: a, Port: uint16(port)}
}

// done ends a call on socket s: what it queued runs, and s's readiness is stored.
func (in *instance) done(s C.int, r C.int) C.int {
	in.settle(false)
	if in.sock(s) != nil {
		in.refresh(int(s))
	}
	return r
}

//export gvBindAddr
func gvBindAddr(s C.int, ip *C.uint8_t, port C.int) C.int {
	in := g
	k := in.sock(s)
	if k == nil {
		return -eBADF
	}
	return in.done(s, errno(k.ep.Bind(fullAddr(ip, port))))
}

//export gvListen
func gvListen(s C.int, backlog C.int) C.int {
	in := g
	k := in.sock(s)
	if k == nil {
		return -eBADF
	}
	// one more than asked, as gVisor's sentry does for parity with Linux, which admits a
	// connection more than the backlog (syscalls/linux/sys_socket.go Listen)
	return in.done(s, errno(k.ep.Listen(int(backlog)+1)))
}

//export gvAccept
func gvAccept(s C.int, ip *C.uint8_t, port *C.int) C.int {
	in := g
	k := in.sock(s)
	if k == nil {
		return -eBADF
	}
	var peer tcpip.FullAddress
	ep, wq, e := k.ep.Accept(&peer)
	if e != nil {
		return in.done(s, errno(e))
	}
	copy(unsafe.Slice((*byte)(unsafe.Pointer(ip)), 4), peer.Addr)
	*port = C.int(peer.Port)
	return in.done(s, in.add(ep, wq))
}

//export gvConnect
func gvConnect(s C.int, ip *C.uint8_t, port C.int) C.int {
	in := g
	k := in.sock(s)
	if k == nil {
		return -eBADF
	}
	return in.done(s, errno(k.ep.Connect(fullAddr(ip, port))))
}

//export gvSend
func gvSend(s C.int, buf unsafe.Pointer, n C.size_t, more C.int) C.long {
	in := g
	k := in.sock(s)
	if k == nil {
		return -eBADF
	}
	in.reader.Reset(unsafe.Slice((*byte)(buf), int(n)))
	w, e := k.ep.Write(&in.reader, tcpip.WriteOptions{More: more != 0})
	in.reader.Reset(nil)
	if e != nil && w == 0 {
		return C.long(in.done(s, errno(e)))
	}
	in.done(s, 0)
	return C.long(w)
}

// sliceWriter is the io.Writer netstack's Read copies into: the caller's buffer.
type sliceWriter struct {
	b []byte
	n int
}

func (w *sliceWriter) Write(p []byte) (int, error) {
	c := copy(w.b[w.n:], p)
	w.n += c
	if c < len(p) {
		return c, io.ErrShortWrite // netstack keeps the rest for the next read
	}
	return c, nil
}

//export gvRecv
func gvRecv(s C.int, buf unsafe.Pointer, n C.size_t, peek C.int) C.long {
	in := g
	k := in.sock(s)
	if k == nil {
		return -eBADF
	}
	if n == 0 {
		// Linux answers a zero-length read from the socket's state, moving nothing:
		// peek into a writer that takes nothing, so that no data is consumed
		_, e := k.ep.Read(io.Discard, tcpip.ReadOptions{Peek: true})
		switch e.(type) {
		case nil, *tcpip.ErrClosedForReceive:
			return C.long(in.done(s, 0))
		}
		return C.long(in.done(s, errno(e)))
	}
	w := sliceWriter{b: unsafe.Slice((*byte)(buf), int(n))}
	_, e := k.ep.Read(&w, tcpip.ReadOptions{Peek: peek != 0})
	switch e.(type) {
	case nil:
	case *tcpip.ErrClosedForReceive:
		e = nil // end of stream
	default:
		if w.n == 0 {
			return C.long(in.done(s, errno(e)))
		}
	}
	in.done(s, 0)
	return C.long(w.n)
}

//export gvShutdown
func gvShutdown(s C.int, how C.int) C.int {
	in := g
	k := in.sock(s)
	if k == nil {
		return -eBADF
	}
	var f tcpip.ShutdownFlags
	switch how {
	case 0:
		f = tcpip.ShutdownRead
	case 1:
		f = tcpip.ShutdownWrite
	case 2:
		f = tcpip.ShutdownRead | tcpip.ShutdownWrite
	default:
		return -eINVAL
	}
	return in.done(s, errno(k.ep.Shutdown(f)))
}

// gvClose closes socket s. With SO_LINGER on and a timeout, a blocking close waits, as
// gVisor's sentry does (socket/netstack Release) and for what its comment says: until the
// endpoint has left FIN-WAIT-1, CLOSING and LAST-ACK (what it sent is acknowledged; here
// also ESTABLISHED and CLOSE-WAIT, where the FIN still waits behind unsent data), or the
// timeout. gvClose returns the timeout in ms (> 0) for the glue to wait with the poll
// loop running, and gvLingered tells it when the wait is over.
//
//export gvClose
func gvClose(s C.int, blocking C.int) C.int {
	in := g
	k := in.sock(s)
	if k == nil {
		return -eBADF
	}
	var wait C.int
	if l := k.ep.SocketOptions().GetLinger(); blocking != 0 && l.Enabled && l.Timeout > 0 {
		in.lingering = k.ep
		wait = C.int(l.Timeout / time.Millisecond)
	}
	k.wq.EventUnregister(&k.entry)
	k.ep.Close()
	in.socks[s] = nil
	in.free = append(in.free, int(s))
	in.open--
	in.sh.ready[s] = 0
	in.changed(int(s))
	return in.done(-1, wait)
}

// gvLingered: 1 once the lingering close's FIN is acknowledged, or the connection gone
// (or, with giveUp, the glue's timeout passed); 0 while it still waits.
//
//export gvLingered
func gvLingered(giveUp C.int) C.int {
	in := g
	in.settle(false)
	if in.lingering == nil {
		return 1
	}
	switch tcp.EndpointState(in.lingering.State()) {
	// the sentry's three states, and those where the FIN still waits behind unsent data
	case tcp.StateFinWait1, tcp.StateClosing, tcp.StateLastAck, tcp.StateEstablished,
		tcp.StateCloseWait:
		if giveUp == 0 {
			return 0
		}
	}
	in.lingering = nil
	return 1
}

func b2i(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// optKey is a Linux option: its level and name.
type optKey struct{ level, name C.int }

// netstack's integer options, set and read back as they are.
var intOpts = map[optKey]tcpip.SockOptInt{
	{solIP, ipTOS}:           tcpip.IPv4TOSOption,
	{solTCP, tcpMaxSeg}:      tcpip.MaxSegOption,
	{solTCP, tcpKeepCnt}:     tcpip.KeepaliveCountOption,
	{solTCP, tcpSynCnt}:      tcpip.TCPSynCountOption,
	{solTCP, tcpWindowClamp}: tcpip.TCPWindowClampOption,
}

// durOpt is one of netstack's duration options: a new value of its type (and that value as
// a time.Duration) and the unit Linux counts it in.
type durOpt struct {
	make func() (durValue, *time.Duration)
	unit time.Duration
}

// The values Linux takes for the keep-alive options (tcp(7): MAX_TCP_KEEPIDLE,
// MAX_TCP_KEEPINTVL, MAX_TCP_KEEPCNT), checked before netstack sees them, as gVisor's sentry
// does (sentry/socket/netstack/netstack.go setSockOptTCP): netstack's endpoint takes any.
var optRange = map[optKey][2]C.int{
	{solTCP, tcpKeepIdle}:  {1, 32767},
	{solTCP, tcpKeepIntvl}: {1, 32767},
	{solTCP, tcpKeepCnt}:   {1, 127},
}

type durValue interface {
	tcpip.SettableSocketOption
	tcpip.GettableSocketOption
}

// dur makes a new option of duration type T: the option, and its value as a time.Duration.
func dur[T ~int64, P interface {
	*T
	durValue
}]() (durValue, *time.Duration) {
	p := P(new(T))
	return p, (*time.Duration)(unsafe.Pointer(p))
}

var durOpts = map[optKey]durOpt{
	{solTCP, tcpKeepIdle}:    {dur[tcpip.KeepaliveIdleOption], time.Second},
	{solTCP, tcpKeepIntvl}:   {dur[tcpip.KeepaliveIntervalOption], time.Second},
	{solTCP, tcpLinger2}:     {dur[tcpip.TCPLingerTimeoutOption], time.Second},
	{solTCP, tcpDeferAccept}: {dur[tcpip.TCPDeferAcceptOption], time.Second},
	{solTCP, tcpUserTimeout}: {dur[tcpip.TCPUserTimeoutOption], time.Millisecond},
}

//export gvSetsockopt
func gvSetsockopt(s C.int, level C.int, name C.int, v C.int, v2 C.int) C.int {
	in := g
	k := in.sock(s)
	if k == nil {
		return -eBADF
	}
	if r, ok := optRange[optKey{level, name}]; ok && (v < r[0] || v > r[1]) {
		return -eINVAL
	}
	if opt, ok := intOpts[optKey{level, name}]; ok {
		return in.done(s, errno(k.ep.SetSockOptInt(opt, int(v))))
	}
	if d, ok := durOpts[optKey{level, name}]; ok {
		opt, dur := d.make()
		*dur = time.Duration(v) * d.unit
		return in.done(s, errno(k.ep.SetSockOpt(opt)))
	}
	o := k.ep.SocketOptions()
	var e tcpip.Error
	switch {
	case level == solSocket && name == soReuseAddr:
		o.SetReuseAddress(v != 0)
	case level == solSocket && name == soReusePort:
		o.SetReusePort(v != 0)
	case level == solSocket && name == soKeepAlive:
		o.SetKeepAlive(v != 0)
	case level == solSocket && name == soSndBuf:
		// Linux doubles the value asked for (socket(7)); netstack does the same in its
		// sentry, not in the endpoint
		o.SetSendBufferSize(2*int64(v), true)
	case level == solSocket && name == soRcvBuf:
		o.SetReceiveBufferSize(2*int64(v), true)
	case level == solSocket && name == soLinger:
		o.SetLinger(tcpip.LingerOption{Enabled: v != 0, Timeout: time.Duration(v2) * time.Second})
	case level == solSocket && name == soRcvLowat:
		e = o.SetRcvlowat(int32(v))
	case level == solSocket && name == soOOBInline:
		o.SetOutOfBandInline(v != 0)
	case level == solIP && name == ipTTL:
		e = k.ep.SetSockOptInt(tcpip.IPv4TTLOption, int(v))
	case level == solTCP && name == tcpNoDelay:
		o.SetDelayOption(v == 0)
	case level == solTCP && name == tcpCork:
		o.SetCorkOption(v != 0)
	case level == solTCP && name == tcpQuickAck:
		o.SetQuickAck(v != 0)
	default:
		return -eNOPROTOOPT
	}
	return in.done(s, errno(e))
}

//export gvGetsockopt
func gvGetsockopt(s C.int, level C.int, name C.int, v *C.int, v2 *C.int) C.int {
	in := g
	k := in.sock(s)
	if k == nil {
		return -eBADF
	}
	if opt, ok := intOpts[optKey{level, name}]; ok {
		n, e := k.ep.GetSockOptInt(opt)
		*v = C.int(n)
		return in.done(s, errno(e))
	}
	if d, ok := durOpts[optKey{level, name}]; ok {
		opt, dur := d.make()
		e := k.ep.GetSockOpt(opt)
		*v = C.int(*dur / d.unit)
		return in.done(s, errno(e))
	}
	o := k.ep.SocketOptions()
	var e tcpip.Error
	var n int
	switch {
	case level == solSocket && name == soReuseAddr:
		*v = b2i(o.GetReuseAddress())
	case level == solSocket && name == soReusePort:
		*v = b2i(o.GetReusePort())
	case level == solSocket && name == soKeepAlive:
		*v = b2i(o.GetKeepAlive())
	case level == solSocket && name == soSndBuf:
		*v = C.int(o.GetSendBufferSize())
	case level == solSocket && name == soRcvBuf:
		*v = C.int(o.GetReceiveBufferSize())
	case level == solSocket && name == soType:
		*v = 1 // SOCK_STREAM
	case level == solSocket && name == soAcceptConn:
		*v = b2i(tcp.EndpointState(k.ep.State()) == tcp.StateListen)
	case level == solSocket && name == soError:
		// Linux has one pending error, cleared when read; netstack two (the endpoint's
		// hard error and its last error), both set by one reset: reading takes both
		*v = -errno(k.ep.LastError())
		for k.ep.LastError() != nil {
		}
	case level == solSocket && name == soRcvLowat:
		*v = C.int(o.GetRcvlowat())
	case level == solSocket && name == soOOBInline:
		*v = b2i(o.GetOutOfBandInline())
	case level == solSocket && name == soLinger:
		l := o.GetLinger()
		*v, *v2 = b2i(l.Enabled), C.int(l.Timeout/time.Second)
	case level == solIP && name == ipTTL:
		// 0 means "the stack's default" in netstack; Linux reports the default itself
		if n, e = k.ep.GetSockOptInt(tcpip.IPv4TTLOption); e == nil && n == 0 {
			var ttl tcpip.DefaultTTLOption
			e = in.st.NetworkProtocolOption(ipv4.ProtocolNumber, &ttl)
			n = int(ttl)
		}
		*v = C.int(n)
	case level == solTCP && name == tcpNoDelay:
		*v = b2i(!o.GetDelayOption())
	case level == solTCP && name == tcpCork:
		*v = b2i(o.GetCorkOption())
	case level == solTCP && name == tcpQuickAck:
		*v = b2i(o.GetQuickAck())
	default:
		return -eNOPROTOOPT
	}
	return in.done(s, errno(e))
}

//export gvName
func gvName(s C.int, peer C.int, ip *C.uint8_t, port *C.int) C.int {
	in := g
	k := in.sock(s)
	if k == nil {
		return -eBADF
	}
	var a tcpip.FullAddress
	var e tcpip.Error
	if peer != 0 {
		a, e = k.ep.GetRemoteAddress()
	} else {
		a, e = k.ep.GetLocalAddress()
	}
	if e != nil {
		return errno(e)
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(ip)), 4)
	copy(b, []byte{0, 0, 0, 0})
	copy(b, a.Addr)
	*port = C.int(a.Port)
	return 0
}

//export gvAvailable
func gvAvailable(s C.int) C.int {
	k := g.sock(s)
	if k == nil {
		return -eBADF
	}
	n, e := k.ep.GetSockOptInt(tcpip.ReceiveQueueSizeOption)
	if e != nil {
		return errno(e)
	}
	return C.int(n)
}

// Connections netstack still holds: those not in TIME_WAIT (returned) and those in it.
//
//export gvConns
func gvConns(timeWait *C.uint) C.uint {
	var active, tw C.uint
	for _, t := range g.st.RegisteredEndpoints() {
		ep, ok := t.(tcpip.Endpoint)
		if !ok {
			continue
		}
		switch tcp.EndpointState(ep.State()) {
		case tcp.StateTimeWait:
			tw++
		case tcp.StateListen:
		default:
			active++
		}
	}
	*timeWait = tw
	return active
}

// The glue's counters, in gvisor.c's order (gv_counter_names).
//
//export gvCounters
func gvCounters(out *C.uint64_t, max C.int) C.int {
	in := g
	t := in.st.Stats().TCP
	ip := in.st.Stats().IP
	v := []uint64{
		in.rxFrames, in.txFrames, in.link.dropsFull.Load(), in.txSlotsFull,
		uint64(in.open), in.opened,
		t.ActiveConnectionOpenings.Value(), t.PassiveConnectionOpenings.Value(),
		t.CurrentEstablished.Value(), t.EstablishedResets.Value(),
		t.FailedConnectionAttempts.Value(), t.ValidSegmentsReceived.Value(),
		t.InvalidSegmentsReceived.Value(), t.SegmentsSent.Value(),
		t.SegmentSendErrors.Value(), t.ResetsSent.Value(), t.ResetsReceived.Value(),
		t.Retransmits.Value(), t.Timeouts.Value(), t.ChecksumErrors.Value(),
		t.ListenOverflowSynDrop.Value(), t.ListenOverflowAckDrop.Value(),
		ip.MalformedPacketsReceived.Value(), ip.InvalidDestinationAddressesReceived.Value(),
		in.st.Stats().DroppedPackets.Value(),
	}
	o := unsafe.Slice((*uint64)(unsafe.Pointer(out)), int(max))
	for i := 0; i < len(v) && i < int(max); i++ {
		o[i] = v[i]
	}
	return C.int(len(v))
}

// gvStop closes what sockets remain (as process exit does on Linux) and stops netstack.
//
//export gvStop
func gvStop() {
	in := g
	for s, k := range in.socks {
		if k != nil {
			gvClose(C.int(s), 0)
		}
	}
	in.settle(true)
	if in.inl != nil {
		in.inl.Stop()
		in.inl = nil
	}
	in.st.Close()
	in.st.Wait()
	g = nil
}

// gvNop is the cheapest crossing: crossing_cost.c times it, bound and not.
//
//export gvNop
func gvNop(x C.int) C.int {
	return x + 1
}

//export gvGoroutines
func gvGoroutines() C.int {
	return C.int(runtime.NumGoroutine())
}

func main() {}
