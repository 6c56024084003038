package nats

import (
	"errors"
	"fmt"
	"strings"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/rs/zerolog"
)

// Defaults of Options.
const (
	// DefaultStream is the default Options.Stream.
	DefaultStream = "statecast"
	// DefaultName is the default Options.Name.
	DefaultName = "statecast"
	// DefaultConnectTimeout is the default Options.ConnectTimeout.
	DefaultConnectTimeout = 5 * time.Second
	// DefaultRequestTimeout is the default Options.RequestTimeout.
	DefaultRequestTimeout = 5 * time.Second
	// DefaultAckTimeout is the default Options.AckTimeout.
	DefaultAckTimeout = 2 * time.Second
	// DefaultRetryTimeout is the default Options.RetryTimeout: longer than
	// a NATS leader election after a crash (4 to 9 seconds) plus a
	// reconnect.
	DefaultRetryTimeout = 15 * time.Second
	// DefaultDuplicates is the default Options.Duplicates.
	DefaultDuplicates = 2 * time.Minute
	// DefaultReconnectWait is the default Options.ReconnectWait.
	DefaultReconnectWait = 250 * time.Millisecond
	// DefaultPingInterval is the default Options.PingInterval.
	DefaultPingInterval = 2 * time.Second
)

// Options configure Open. The zero value connects to a NATS server on
// localhost and uses the stream "statecast" with one replica.
type Options struct {
	// URLs are the servers to connect to, comma-separated, for example
	// "nats://10.0.0.1:4222,nats://10.0.0.2:4222". The client learns the
	// rest of a cluster from the servers. Defaults to natsgo.DefaultURL
	// (nats://127.0.0.1:4222).
	URLs string
	// Stream is the JetStream stream that holds the log. Defaults to
	// DefaultStream.
	Stream string
	// Subject is the subject actions are published on; the stream must
	// hold exactly this subject. Defaults to Stream + ".actions".
	Subject string
	// NoCreate makes Open fail when the stream does not exist, with an
	// error that wraps jetstream.ErrStreamNotFound, instead of creating
	// it: for readers that must leave the servers as they are (statecast
	// replay). Replicas and Duplicates are then unused.
	NoCreate bool
	// Replicas is the stream's number of replicas when Open creates it:
	// 1 for a single server, 3 for a cluster of three. An existing stream
	// keeps its own. Defaults to 1.
	Replicas int
	// Name is the connection's name, shown by the server's monitoring.
	// Defaults to DefaultName.
	Name string
	// ConnectTimeout bounds the dial of one server when connecting.
	// Defaults to DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// RequestTimeout bounds each JetStream API request (stream info,
	// consumer creation) when the caller's context has no earlier deadline,
	// and LastSeq and FirstSeq, which have no context. Defaults to
	// DefaultRequestTimeout.
	RequestTimeout time.Duration
	// AckTimeout is how long one publish waits for its acknowledgement
	// before Append sends it again. Defaults to DefaultAckTimeout.
	AckTimeout time.Duration
	// RetryTimeout is how long Append keeps publishing the actions of a
	// batch not yet acknowledged (across reconnects and stream leader
	// elections) before it gives up and returns an error. It must be
	// shorter than the stream's duplicate window, or a retry could append
	// an action twice. Defaults to DefaultRetryTimeout, which covers a
	// leader election after a crash (NATS elects within 4 to 9 seconds).
	RetryTimeout time.Duration
	// Duplicates is the duplicate window of a stream that Open creates:
	// how long the server remembers an action's ID to drop a second
	// publish of it. Defaults to DefaultDuplicates.
	Duplicates time.Duration
	// ReconnectWait is how long the client waits before trying the same
	// server again after losing its connection. Defaults to
	// DefaultReconnectWait.
	ReconnectWait time.Duration
	// PingInterval is how often the client pings its server; two pings
	// unanswered count as a lost connection, and the client moves to
	// another server. A server whose process ends closes the connection
	// at once; this bounds the wait when its host or network goes silent
	// instead (nats.go's own default, two minutes, would stall appends for
	// four). Defaults to DefaultPingInterval.
	PingInterval time.Duration
	// Logger receives reports of lost and regained connections and of
	// retried publishes. The zero value logs nothing.
	Logger zerolog.Logger
	// OnConnection, if set, is called with false when the connection to
	// NATS is lost and with true when it is back (not for the first
	// connect, nor for Close). It runs on the client's callback goroutine
	// and must not block.
	OnConnection func(connected bool)
	// NATSOptions are passed to natsgo.Connect after the ones this package
	// sets (name, timeouts, endless reconnects, the handlers above), so
	// they can add credentials or TLS, or override those. Do not replace
	// the disconnect, reconnect or closed handlers: Logger and
	// OnConnection rely on them.
	NATSOptions []natsgo.Option
}

// withDefaults returns o with every zero field set to its default, or an
// error for an invalid setting.
func (o Options) withDefaults() (Options, error) {
	if strings.TrimSpace(o.URLs) == "" {
		o.URLs = natsgo.DefaultURL
	}
	if o.Stream == "" {
		o.Stream = DefaultStream
	}
	if strings.ContainsAny(o.Stream, ".*> \t\r\n") {
		return o, fmt.Errorf("nats: invalid stream name %q", o.Stream)
	}
	if o.Subject == "" {
		o.Subject = o.Stream + ".actions"
	}
	if strings.ContainsAny(o.Subject, "*> \t\r\n") || strings.HasPrefix(o.Subject, ".") || strings.HasSuffix(o.Subject, ".") || strings.Contains(o.Subject, "..") {
		return o, fmt.Errorf("nats: invalid subject %q (it must be a literal subject, without wildcards)", o.Subject)
	}
	if o.Replicas == 0 {
		o.Replicas = 1
	}
	if o.Replicas < 1 || o.Replicas > 5 {
		return o, fmt.Errorf("nats: Replicas %d out of range 1..5", o.Replicas)
	}
	if o.Name == "" {
		o.Name = DefaultName
	}
	for _, d := range []struct {
		p   *time.Duration
		def time.Duration
	}{
		{&o.ConnectTimeout, DefaultConnectTimeout},
		{&o.RequestTimeout, DefaultRequestTimeout},
		{&o.AckTimeout, DefaultAckTimeout},
		{&o.RetryTimeout, DefaultRetryTimeout},
		{&o.Duplicates, DefaultDuplicates},
		{&o.ReconnectWait, DefaultReconnectWait},
		{&o.PingInterval, DefaultPingInterval},
	} {
		if *d.p < 0 {
			return o, errors.New("nats: negative timeout in Options")
		}
		if *d.p == 0 {
			*d.p = d.def
		}
	}
	if o.Duplicates <= o.RetryTimeout {
		return o, fmt.Errorf("nats: the duplicate window %v must be longer than RetryTimeout %v", o.Duplicates, o.RetryTimeout)
	}
	return o, nil
}
