package transport

import (
	"crypto/tls"
	"errors"
	"fmt"
	stdlog "log"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// certCheckEvery is the least time between two looks at the certificate
// files: a handshake that comes later stats them, and reloads the pair if
// either changed.
const certCheckEvery = time.Second

// certLoader serves the certificate in a pair of PEM files and reads them
// again when they change (a renewal by certbot or cert-manager), so that
// the next handshake gets the new certificate without a restart; sockets
// already open keep theirs. A pair that fails to load (a key that does not
// match its certificate while the files are being replaced, say) is logged
// once, and the last good one stays in use.
type certLoader struct {
	certFile, keyFile string
	log               zerolog.Logger

	cert atomic.Pointer[tls.Certificate]

	mu      sync.Mutex // held while checking; a handshake that finds it taken uses cert as it is
	checked time.Time  // when the files were last looked at
	loaded  [2]os.FileInfo
	failed  *[2]os.FileInfo // the files as they were when loading last failed, or nil
}

// newCertLoader loads the pair, and fails if it cannot: a server does not
// start without a certificate.
func newCertLoader(certFile, keyFile string, log zerolog.Logger) (*certLoader, error) {
	c := &certLoader{certFile: certFile, keyFile: keyFile, log: log}
	stat, err := c.stat()
	if err != nil {
		return nil, err
	}
	if err := c.load(stat); err != nil {
		return nil, err
	}
	c.checked = time.Now()
	return c, nil
}

// tlsConfig is the server's TLS configuration: Go's defaults (TLS 1.2 and
// up), the certificate from c, and HTTP/1.1 only, since every socket is a
// hijacked HTTP/1.1 connection.
func (c *certLoader) tlsConfig() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: c.getCertificate,
		NextProtos:     []string{"http/1.1"},
	}
}

// getCertificate is tls.Config.GetCertificate: the current certificate,
// reloaded first if the files changed since the last look, at most every
// certCheckEvery.
func (c *certLoader) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	if c.mu.TryLock() {
		if time.Since(c.checked) >= certCheckEvery {
			c.checked = time.Now()
			c.reloadIfChanged()
		}
		c.mu.Unlock()
	}
	return c.cert.Load(), nil
}

// reloadIfChanged loads the pair if either file differs from the loaded
// one (another inode, size or modification time). Called with mu held.
func (c *certLoader) reloadIfChanged() {
	stat, err := c.stat()
	switch {
	case c.failed != nil && sameFiles(stat, *c.failed):
		// logged when it failed; the files have not changed since
	case err != nil:
		c.log.Warn().Err(err).Msg("cannot read the TLS certificate files; still serving the certificate loaded before")
		c.failed = &stat
	case sameFiles(stat, c.loaded):
	default:
		if err := c.load(stat); err != nil {
			c.log.Warn().Err(err).Msg("cannot load the new TLS certificate; still serving the one loaded before")
			c.failed = &stat
			return
		}
		leaf := c.cert.Load().Leaf
		c.log.Info().Str("cert", c.certFile).Str("subject", leaf.Subject.String()).
			Time("not_after", leaf.NotAfter).Msg("loaded a new TLS certificate")
	}
}

// load reads the pair, whose files were as stat says just before.
func (c *certLoader) load(stat [2]os.FileInfo) error {
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("TLS certificate %s and key %s: %w", c.certFile, c.keyFile, err)
	}
	c.cert.Store(&cert) // LoadX509KeyPair has set cert.Leaf
	c.loaded, c.failed = stat, nil
	return nil
}

// stat looks at both files (through symbolic links, which is how certbot
// publishes them). The infos it returns may be partly nil on an error.
func (c *certLoader) stat() ([2]os.FileInfo, error) {
	var fi [2]os.FileInfo
	var errs [2]error
	for i, name := range []string{c.certFile, c.keyFile} {
		fi[i], errs[i] = os.Stat(name)
	}
	if err := errors.Join(errs[:]...); err != nil {
		return fi, fmt.Errorf("TLS certificate: %w", err)
	}
	return fi, nil
}

// sameFiles reports whether a and b are the same two files, unchanged.
func sameFiles(a, b [2]os.FileInfo) bool {
	for i := range a {
		if a[i] == nil || b[i] == nil {
			if a[i] != b[i] {
				return false
			}
			continue
		}
		if !os.SameFile(a[i], b[i]) || a[i].Size() != b[i].Size() || !a[i].ModTime().Equal(b[i].ModTime()) {
			return false
		}
	}
	return true
}

// tlsErrorLog routes the HTTP server's own messages, with TLS mostly
// failed handshakes (scanners, clients that do not trust the
// certificate), to log at debug level instead of the standard error.
func tlsErrorLog(log zerolog.Logger) *stdlog.Logger {
	return stdlog.New(debugWriter{log}, "", 0)
}

type debugWriter struct{ log zerolog.Logger }

func (w debugWriter) Write(p []byte) (int, error) {
	w.log.Debug().Msg(strings.TrimSpace(string(p)))
	return len(p), nil
}
