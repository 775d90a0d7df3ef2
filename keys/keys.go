// Package keys holds the server's secret key and the purpose-bound keys
// derived from it, so that one leaked derived key reveals nothing else.
package keys

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Size is the length of the root secret in bytes.
const Size = 32

// Keys are the keys derived from one root secret.
type Keys struct {
	codes      []byte
	identifier []byte
	content    []byte
	seal       cipher.AEAD
}

// New derives the purpose keys from root.
func New(root []byte) (*Keys, error) {
	if len(root) < Size {
		return nil, fmt.Errorf("secret key must be at least %d bytes, got %d", Size, len(root))
	}
	derive := func(purpose string) []byte {
		k, err := hkdf.Key(sha256.New, root, nil, "ward "+purpose, 32)
		if err != nil {
			panic(err) // only fails for lengths far beyond 32 bytes
		}
		return k
	}
	block, err := aes.NewCipher(derive("outbox seal"))
	if err != nil {
		return nil, fmt.Errorf("preparing seal key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("preparing seal key: %w", err)
	}
	return &Keys{codes: derive("one-time codes"), identifier: derive("identifiers"), content: derive("message content"), seal: aead}, nil
}

// Parse reads a root secret written as base64 (standard or URL alphabet).
func Parse(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) < Size {
				return nil, fmt.Errorf("secret key must decode to at least %d bytes, got %d", Size, len(b))
			}
			return b, nil
		}
	}
	return nil, errors.New("secret key must be base64")
}

// LoadOrCreate reads the root secret from path, generating and saving a new
// one (readable only by its owner) when the file does not exist yet.
func LoadOrCreate(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return Parse(string(b))
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("reading secret key: %w", err)
	}
	root := make([]byte, Size)
	rand.Read(root)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating key folder: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) { // another process won the race
			return LoadOrCreate(path)
		}
		return nil, fmt.Errorf("saving secret key: %w", err)
	}
	defer f.Close()
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(root) + "\n"); err != nil {
		return nil, fmt.Errorf("saving secret key: %w", err)
	}
	return root, f.Sync()
}

// CodeMAC is the stored form of a one-time code: an HMAC over the code and
// everything it is bound to, so a code never verifies for another binding.
func (k *Keys) CodeMAC(binding ...string) string {
	m := hmac.New(sha256.New, k.codes)
	for _, b := range binding {
		fmt.Fprintf(m, "%d:%s;", len(b), b)
	}
	return hex.EncodeToString(m.Sum(nil))
}

// ContentDigest is a keyed digest of the secrets a message carried (its
// code, its links' tokens), kept once they are erased so that a pasted
// body can still be proven to be the one ward sent.
func (k *Keys) ContentDigest(messageID string, secrets ...string) string {
	m := hmac.New(sha256.New, k.content)
	fmt.Fprintf(m, "%d:%s;", len(messageID), messageID)
	for _, s := range secrets {
		fmt.Fprintf(m, "%d:%s;", len(s), s)
	}
	return hex.EncodeToString(m.Sum(nil))
}

// Identifier is a stable keyed digest of an address or identifier, for
// counting and looking up without keeping a second plain copy.
func (k *Keys) Identifier(kind, value string) string {
	m := hmac.New(sha256.New, k.identifier)
	m.Write([]byte(kind + "\x00" + value))
	return hex.EncodeToString(m.Sum(nil)[:20])
}

// Seal encrypts a short secret (such as a code waiting in the outbox) so
// that the database alone does not reveal it. aad binds it to its record.
func (k *Keys) Seal(plain, aad []byte) []byte {
	nonce := make([]byte, k.seal.NonceSize())
	rand.Read(nonce)
	out := k.seal.Seal(nonce, nonce, plain, aad)
	return []byte(base64.RawStdEncoding.EncodeToString(out))
}

// Open reverses Seal.
func (k *Keys) Open(sealed, aad []byte) ([]byte, error) {
	raw, err := base64.RawStdEncoding.DecodeString(string(sealed))
	if err != nil || len(raw) < k.seal.NonceSize() {
		return nil, errors.New("opening sealed secret: malformed")
	}
	n := k.seal.NonceSize()
	plain, err := k.seal.Open(nil, raw[:n], raw[n:], aad)
	if err != nil {
		return nil, fmt.Errorf("opening sealed secret: %w", err)
	}
	return plain, nil
}

// Token returns a new random 256-bit token, URL-safe.
func Token() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// HashToken is the stored form of a high-entropy token: such tokens need no
// key or slow hash, only that the database does not hold them in the clear.
func HashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}
