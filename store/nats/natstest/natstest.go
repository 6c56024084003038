// Package natstest runs NATS servers with JetStream inside a test process,
// for tests of code that talks to NATS (package store/nats, the cluster
// mode of cmd/statecast).
//
//	c := natstest.StartCluster(t, 3) // three clustered servers, ready for R3 streams
//	l, err := nats.Open(ctx, nats.Options{URLs: c.URLs(), Replicas: 3})
//	...
//	c.Shutdown(c.StreamLeader("statecast")) // stop the stream leader's server
//	c.Restart(i)                             // bring a server back, same data
//
// Every server listens on loopback only, keeps its JetStream data under
// t.TempDir() and fsyncs every write (SyncAlways, as production should).
// The servers log nothing unless the environment variable NATSTEST_LOG is
// set (to anything); then they log to stderr. Everything started is shut
// down by t.Cleanup.
//
// The methods that wait (StartCluster, StartServer, Restart,
// WaitForJetStream) fail the test with t.Fatal, so call them from the test's
// own goroutine. Shutdown, URL, URLs and the other accessors may be called
// from any goroutine.
package natstest

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// ReadyTimeout bounds how long StartCluster, StartServer, Restart and
// WaitForJetStream wait for the servers to accept clients and for
// JetStream to be ready.
const ReadyTimeout = 30 * time.Second

// Account is the account every client of these servers is in (the default
// global account, as no accounts are configured); pass it where the server
// API asks for one.
const Account = server.DEFAULT_GLOBAL_ACCOUNT

// Cluster is a set of NATS servers started by StartCluster or StartServer.
// Servers are numbered from 0. Its methods are safe for concurrent use.
type Cluster struct {
	t         testing.TB
	clustered bool

	mu    sync.Mutex // guards each node's srv
	nodes []*node
}

// node is one server: its fixed settings and, while it runs, the server.
type node struct {
	name      string
	port      int // client port
	routePort int // cluster port; 0 for a single server
	dir       string
	srv       *server.Server // nil while shut down
}

// StartCluster starts n servers clustered with each other on loopback (all
// routes configured, so the full mesh forms at once), with JetStream on,
// and waits until they accept clients and JetStream has a meta leader that
// sees all n servers, so that a stream with up to n replicas can be
// created right away. The client and cluster ports are free ports picked
// at start and kept across Restart.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	if n < 1 {
		t.Fatalf("natstest: StartCluster(%d): need at least one server", n)
	}
	return start(t, n, true)
}

// StartServer starts a single NATS server with JetStream on (not
// clustered: streams must have one replica) and waits until it is ready.
// It is a Cluster of one, so that Shutdown(0) and Restart(0) work too.
func StartServer(t testing.TB) *Cluster {
	t.Helper()
	return start(t, 1, false)
}

func start(t testing.TB, n int, clustered bool) *Cluster {
	t.Helper()
	perNode := 1
	if clustered {
		perNode = 2
	}
	ports, err := freePorts(n * perNode)
	if err != nil {
		t.Fatalf("natstest: picking free ports: %v", err)
	}
	base := t.TempDir()
	c := &Cluster{t: t, clustered: clustered}
	for i := range n {
		nd := &node{
			name: fmt.Sprintf("n%d", i),
			port: ports[i*perNode],
			dir:  filepath.Join(base, fmt.Sprintf("n%d", i)),
		}
		if clustered {
			nd.routePort = ports[i*perNode+1]
		}
		c.nodes = append(c.nodes, nd)
	}
	t.Cleanup(c.shutdownAll)
	// Start every server before waiting on any: a clustered server is ready
	// only once its routes are up.
	for i := range c.nodes {
		if err := c.launch(i); err != nil {
			t.Fatalf("natstest: %v", err)
		}
	}
	for i := range c.nodes {
		if err := c.waitReady(i); err != nil {
			t.Fatalf("natstest: %v", err)
		}
	}
	c.WaitForJetStream()
	return c
}

// freePorts returns n distinct TCP ports that were free on 127.0.0.1 a
// moment ago.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports, nil
}

// options returns the configuration of server i, the same at every start.
func (c *Cluster) options(i int) *server.Options {
	nd := c.nodes[i]
	o := &server.Options{
		ServerName: nd.name,
		Host:       "127.0.0.1",
		Port:       nd.port,
		JetStream:  true,
		StoreDir:   nd.dir,
		SyncAlways: true,
		// Keep a test from taking the machine's memory or disk.
		JetStreamMaxMemory: 256 << 20,
		JetStreamMaxStore:  4 << 30,
		NoSigs:             true,
		NoLog:              os.Getenv("NATSTEST_LOG") == "",
	}
	if c.clustered {
		o.Cluster = server.ClusterOpts{
			Name: "natstest",
			Host: "127.0.0.1",
			Port: nd.routePort,
		}
		for j, other := range c.nodes {
			if j != i {
				o.Routes = append(o.Routes, &url.URL{Scheme: "nats", Host: fmt.Sprintf("127.0.0.1:%d", other.routePort)})
			}
		}
	}
	return o
}

// launch creates and starts server i without waiting for it.
func (c *Cluster) launch(i int) error {
	o := c.options(i)
	s, err := server.NewServer(o)
	if err != nil {
		return fmt.Errorf("server %d: %w", i, err)
	}
	if !o.NoLog {
		s.ConfigureLogger()
	}
	c.mu.Lock()
	c.nodes[i].srv = s
	c.mu.Unlock()
	s.Start()
	return nil
}

// waitReady waits until server i accepts clients and routes.
func (c *Cluster) waitReady(i int) error {
	s := c.Server(i)
	if s == nil {
		return fmt.Errorf("server %d is shut down", i)
	}
	if !s.ReadyForConnections(ReadyTimeout) {
		return fmt.Errorf("server %d not ready for connections after %v", i, ReadyTimeout)
	}
	return nil
}

// N returns the number of servers, running or not.
func (c *Cluster) N() int { return len(c.nodes) }

// URL returns the client URL of server i ("nats://127.0.0.1:PORT"), which
// stays the same across Shutdown and Restart.
func (c *Cluster) URL(i int) string {
	return fmt.Sprintf("nats://127.0.0.1:%d", c.nodes[i].port)
}

// URLs returns the client URLs of all servers, running or not,
// comma-separated: the form nats.go's Connect and store/nats's
// Options.URLs take.
func (c *Cluster) URLs() string {
	urls := make([]string, len(c.nodes))
	for i := range c.nodes {
		urls[i] = c.URL(i)
	}
	return strings.Join(urls, ",")
}

// Name returns the server name of server i ("n0", "n1", …): the name
// JetStream reports, for example as a stream's cluster leader.
func (c *Cluster) Name(i int) string { return c.nodes[i].name }

// Index returns the number of the server called name, or -1.
func (c *Cluster) Index(name string) int {
	for i, nd := range c.nodes {
		if nd.name == name {
			return i
		}
	}
	return -1
}

// Server returns server i, or nil while it is shut down.
func (c *Cluster) Server(i int) *server.Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i].srv
}

// Running reports whether server i runs (was not shut down, or was
// restarted since).
func (c *Cluster) Running(i int) bool { return c.Server(i) != nil }

// StreamLeader returns the number of the running server that leads the
// stream (of the default account), or -1 if none does right now. For
// StartServer's single server it is 0 while the server runs, whatever the
// stream.
func (c *Cluster) StreamLeader(stream string) int {
	for i := range c.nodes {
		s := c.Server(i)
		if s != nil && (!c.clustered || s.JetStreamIsStreamLeader(Account, stream)) {
			return i
		}
	}
	return -1
}

// Shutdown stops server i and waits until it has stopped: its clients are
// disconnected (they reconnect to the others), its raft groups lose a
// member. Its data stays for Restart. Shutting down a stopped server does
// nothing.
func (c *Cluster) Shutdown(i int) {
	c.mu.Lock()
	s := c.nodes[i].srv
	c.nodes[i].srv = nil
	c.mu.Unlock()
	if s != nil {
		s.Shutdown()
		s.WaitForShutdown()
	}
}

// Restart starts server i again, with the same ports, data directory and
// routes, and waits until it accepts clients and has caught up with the
// JetStream meta group. Restarting a running server fails the test.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	if c.Running(i) {
		c.t.Fatalf("natstest: Restart(%d): server is running", i)
	}
	if err := c.launch(i); err != nil {
		c.t.Fatalf("natstest: Restart: %v", err)
	}
	if err := c.waitReady(i); err != nil {
		c.t.Fatalf("natstest: Restart: %v", err)
	}
	c.WaitForJetStream()
}

// WaitForJetStream waits until JetStream is ready on every running server:
// for a cluster, a meta leader is elected that sees every running server
// as an online JetStream peer, and every running server is current with
// the meta group. Call it after restarting servers by other means, or
// before creating a stream with as many replicas as servers.
func (c *Cluster) WaitForJetStream() {
	c.t.Helper()
	deadline := time.Now().Add(ReadyTimeout)
	var why string
	for {
		if why = c.jetStreamNotReady(); why == "" {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("natstest: JetStream not ready after %v: %s", ReadyTimeout, why)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// jetStreamNotReady says why JetStream is not ready yet, or "" if it is.
func (c *Cluster) jetStreamNotReady() string {
	var running []*server.Server
	for i := range c.nodes {
		if s := c.Server(i); s != nil {
			running = append(running, s)
		}
	}
	if len(running) == 0 {
		return "no server runs"
	}
	for _, s := range running {
		if !s.JetStreamEnabled() {
			return s.Name() + ": JetStream not enabled yet"
		}
	}
	if !c.clustered {
		return ""
	}
	var leader *server.Server
	for _, s := range running {
		if s.JetStreamIsLeader() {
			leader = s
		}
	}
	if leader == nil {
		return "no meta leader"
	}
	if peers := leader.JetStreamClusterPeers(); len(peers) < len(running) {
		return fmt.Sprintf("the meta leader sees %d of %d servers online: %v", len(peers), len(running), peers)
	}
	for _, s := range running {
		if !s.JetStreamIsCurrent() {
			return s.Name() + ": not current with the meta group"
		}
	}
	return ""
}

// shutdownAll stops every running server; t.Cleanup calls it.
func (c *Cluster) shutdownAll() {
	for i := range c.nodes {
		c.Shutdown(i)
	}
}
