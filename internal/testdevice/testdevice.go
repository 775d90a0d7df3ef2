// Package testdevice is a ward Authenticator for tests: a P-256 key that
// signs answers the way WebCrypto does (r and s, 32 bytes each), so tests
// can answer prompts as a device, or forge what a stolen link would send.
package testdevice

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"

	"github.com/wardhq/ward/authenticator"
)

// Device is a key pair.
type Device struct{ key *ecdsa.PrivateKey }

// New makes a device key.
func New() (*Device, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return &Device{key: k}, nil
}

// PublicKey is the key as WebCrypto exports it ("raw").
func (d *Device) PublicKey() []byte {
	pub, _ := d.key.PublicKey.ECDH()
	return pub.Bytes()
}

// Sign signs an answer: the payload and its signature.
func (d *Device) Sign(a authenticator.Answer) (payload, sig []byte, err error) {
	payload, err = json.Marshal(a)
	if err != nil {
		return nil, nil, err
	}
	h := sha256.Sum256(payload)
	r, s, err := ecdsa.Sign(rand.Reader, d.key, h[:])
	if err != nil {
		return nil, nil, err
	}
	sig = make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return payload, sig, nil
}
