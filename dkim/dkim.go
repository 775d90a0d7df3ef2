// Package dkim holds ward's DKIM keys and signs outgoing mail with them:
// an ed25519 and an RSA-2048 signature on every message (receivers that do
// not know ed25519 yet check the RSA one). Keys are made on first start and
// kept in the data folder; a new pair with new selectors rotates them.
package dkim

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	msgdkim "github.com/emersion/go-msgauth/dkim"
)

// SignedHeaders are the headers every signature covers. There is no l=
// tag: the whole body is signed, so nothing can be appended to it. Each
// header ward writes is listed once more than it occurs, and those it
// never writes but a reader would see are listed once: a signature then
// covers their absence, so a copy added above or a Reply-To slipped in
// breaks it (RFC 6376 §8.15, "over-signing").
var SignedHeaders = []string{
	"From", "From", "To", "To", "Subject", "Subject", "Date", "Date", "Message-ID", "Message-ID",
	"X-Ward-Verification", "X-Ward-Verification", "MIME-Version", "MIME-Version", "Content-Type", "Content-Type",
	"Content-Transfer-Encoding", "Content-Transfer-Encoding",
	"Reply-To", "Sender", "Cc", "In-Reply-To", "References", "List-Unsubscribe", "Disposition-Notification-To",
}

// Key is one signing key and the selector it is published under.
type Key struct {
	Selector string
	Signer   crypto.Signer
}

// Keys are the keys that sign for one domain.
type Keys struct {
	Domain string
	// Sign are the newest key of each algorithm: these sign.
	Sign []Key
	// All are every key in the folder, for publishing: a rotated-out key
	// stays published until mail signed with it is no longer checked.
	All []Key
	// signing admits one signer fewer at once than Go has cores to run on
	// (GOMAXPROCS, which follows a container's CPU limit; at least one).
	// RSA signing is pure computation: more at once only share the cores
	// and crowd out the requests and the database's one writer, which
	// everything else waits on. Bounded to the cores, at 32 concurrent
	// sign-ins on two cores the rate moved within noise against unbounded
	// (737–832 a second, 716–766) and the CPU per sign-in fell from
	// 1.96–2.04 ms to 1.82–1.93 ms. One core left free then took the
	// complete sign-in (SQLite, 8 interleaved pairs) from a median of 504
	// to 563 a second and its p99 from 124 to 102 ms; one signer still
	// makes about a thousand RSA signatures a second here.
	signing chan struct{}
}

// LoadOrCreate reads the keys in dir, making an ed25519 and an RSA key
// (selectors dated today) when there are none.
func LoadOrCreate(dir, domain string) (*Keys, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating DKIM key folder: %w", err)
	}
	ks, err := load(dir, domain)
	if err != nil {
		return nil, err
	}
	if len(ks.All) == 0 {
		if _, err := Generate(dir, time.Now()); err != nil {
			return nil, err
		}
		return load(dir, domain)
	}
	return ks, nil
}

// Generate makes a new key pair with selectors named for t (ward-ed-…,
// ward-rsa-…) and returns their selectors.
func Generate(dir string, t time.Time) ([]string, error) {
	// Microseconds in the name keep selectors unique and in creation order.
	stamp := t.UTC().Format("20060102t150405") + fmt.Sprintf("%06d", t.Nanosecond()/1000)
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("making ed25519 key: %w", err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("making RSA key: %w", err)
	}
	var sels []string
	for _, k := range []Key{{"ward-ed-" + stamp, edKey}, {"ward-rsa-" + stamp, rsaKey}} {
		der, err := x509.MarshalPKCS8PrivateKey(k.Signer)
		if err != nil {
			return nil, fmt.Errorf("encoding DKIM key: %w", err)
		}
		path := filepath.Join(dir, k.Selector+".pem")
		// Never overwrite a key: mail it signed may still be checked.
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("saving DKIM key: %w", err)
		}
		_, err = f.Write(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("saving DKIM key: %w", err)
		}
		sels = append(sels, k.Selector)
	}
	return sels, nil
}

func load(dir, domain string) (*Keys, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.pem"))
	if err != nil {
		return nil, err
	}
	slices.Sort(names) // dated selectors: the newest of each kind is last
	ks := &Keys{Domain: domain, signing: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)-1))}
	newest := map[string]Key{}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			return nil, fmt.Errorf("reading DKIM key: %w", err)
		}
		blk, _ := pem.Decode(b)
		if blk == nil {
			return nil, fmt.Errorf("DKIM key %s is not PEM", n)
		}
		k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("DKIM key %s: %w", n, err)
		}
		signer, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("DKIM key %s cannot sign", n)
		}
		key := Key{Selector: strings.TrimSuffix(filepath.Base(n), ".pem"), Signer: signer}
		ks.All = append(ks.All, key)
		newest[algorithm(signer)] = key
	}
	for _, alg := range []string{"ed25519", "rsa"} {
		if k, ok := newest[alg]; ok {
			ks.Sign = append(ks.Sign, k)
		}
	}
	return ks, nil
}

// Only keeps signing with the named algorithms (ed25519, rsa). RSA costs
// about 1.4 ms a message here; ed25519 about 50 µs.
func (ks *Keys) Only(algorithms []string) {
	var keep []Key
	for _, k := range ks.Sign {
		if slices.Contains(algorithms, algorithm(k.Signer)) {
			keep = append(keep, k)
		}
	}
	ks.Sign = keep
}

func algorithm(s crypto.Signer) string {
	if _, ok := s.(ed25519.PrivateKey); ok {
		return "ed25519"
	}
	return "rsa"
}

// UseOpenSSL has the system's OpenSSL (libcrypto, loaded at run time)
// make the RSA signatures, and returns its version. Without it, or in a
// build without it (CGO_ENABLED=0 or -tags noopenssl), Go signs; the
// signatures are the same bytes either way (PKCS #1 v1.5 is
// deterministic).
func (ks *Keys) UseOpenSSL() (string, error) {
	version, err := OpenSSL()
	if err != nil {
		return "", err
	}
	for i, k := range ks.Sign {
		if rk, ok := k.Signer.(*rsa.PrivateKey); ok {
			s, err := newOpenSSLRSA(rk)
			if err != nil {
				return "", err
			}
			ks.Sign[i].Signer = s
		}
	}
	return version, nil
}

// OpenSSL is the version of the OpenSSL that UseOpenSSL would sign with
// in this build on this machine, or why there is none.
func OpenSSL() (string, error) { return libcrypto() }

// Record is the DNS TXT record that publishes key k.
func (ks *Keys) Record(k Key) (name, value string, err error) {
	var p string
	switch pub := k.Signer.Public().(type) {
	case ed25519.PublicKey:
		p = "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			return "", "", err
		}
		p = "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der)
	default:
		return "", "", errors.New("unsupported DKIM key type")
	}
	return k.Selector + "._domainkey." + ks.Domain, p, nil
}

// LookupTXT answers DNS TXT queries from the published records, so that
// signatures can be checked without DNS (tests, and the genuineness check).
func (ks *Keys) LookupTXT(name string) ([]string, error) {
	for _, k := range ks.All {
		n, v, err := ks.Record(k)
		if err == nil && strings.EqualFold(n, name) {
			return []string{v}, nil
		}
	}
	return nil, fmt.Errorf("no TXT record for %s", name)
}

// Signatures returns the DKIM-Signature header values (without the name)
// for the message in raw, one per signing key.
func (ks *Keys) Signatures(raw []byte) ([]string, error) {
	if ks.signing != nil {
		ks.signing <- struct{}{}
		defer func() { <-ks.signing }()
	}
	var out []string
	for _, k := range ks.Sign {
		s, err := msgdkim.NewSigner(&msgdkim.SignOptions{Domain: ks.Domain, Selector: k.Selector, Signer: k.Signer,
			HeaderCanonicalization: msgdkim.CanonicalizationRelaxed, BodyCanonicalization: msgdkim.CanonicalizationRelaxed,
			HeaderKeys: SignedHeaders})
		if err != nil {
			return nil, fmt.Errorf("DKIM signing with %s: %w", k.Selector, err)
		}
		if _, err := s.Write(raw); err != nil {
			return nil, fmt.Errorf("DKIM signing with %s: %w", k.Selector, err)
		}
		if err := s.Close(); err != nil {
			return nil, fmt.Errorf("DKIM signing with %s: %w", k.Selector, err)
		}
		line := strings.TrimRight(s.Signature(), "\r\n")
		out = append(out, strings.TrimSpace(strings.TrimPrefix(line, "DKIM-Signature:")))
	}
	return out, nil
}

// Verify checks every DKIM signature of raw against the published keys.
func (ks *Keys) Verify(raw []byte) ([]*msgdkim.Verification, error) {
	return msgdkim.VerifyWithOptions(bytes.NewReader(raw), &msgdkim.VerifyOptions{LookupTXT: ks.LookupTXT})
}
