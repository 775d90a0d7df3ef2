// Package testpasskey signs WebAuthn assertions with a passkey's private
// key the way an authenticator does, so that tests can answer ceremonies
// a real browser would refuse to (another origin, another RP ID, a
// replayed challenge) and measure verification without a browser. The
// browser tests get their keys from Chromium's virtual authenticator.
package testpasskey

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/go-webauthn/webauthn/webauthn"
)

// Flags of authenticator data.
const (
	UserPresent    = 0x01
	UserVerified   = 0x04
	BackupEligible = 0x08
	BackedUp       = 0x10
	// Synced is what a platform passkey sets: present, verified, synced.
	Synced = UserPresent | UserVerified | BackupEligible | BackedUp
)

// Key is one passkey: its credential id, the user handle it keeps and its
// P-256 private key.
type Key struct {
	ID     []byte
	Handle []byte
	priv   *ecdsa.PrivateKey
}

// New makes a passkey for the user handle.
func New(handle []byte) (*Key, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	id := make([]byte, 16)
	rand.Read(id)
	return &Key{ID: id, Handle: handle, priv: priv}, nil
}

// FromPKCS8 is a passkey whose key an authenticator exported.
func FromPKCS8(id, handle, pkcs8 []byte) (*Key, error) {
	k, err := x509.ParsePKCS8PrivateKey(pkcs8)
	if err != nil {
		return nil, err
	}
	priv, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("not an ECDSA key: %T", k)
	}
	return &Key{ID: id, Handle: handle, priv: priv}, nil
}

// Credential is the record a relying party keeps after registering k
// with flags.
func (k *Key) Credential(flags byte) (webauthn.Credential, error) {
	pub, err := k.priv.PublicKey.ECDH()
	if err != nil {
		return webauthn.Credential{}, err
	}
	raw := pub.Bytes() // 0x04 | X | Y
	cose, err := webauthncbor.Marshal(webauthncose.EC2PublicKeyData{
		PublicKeyData: webauthncose.PublicKeyData{KeyType: int64(webauthncose.EllipticKey), Algorithm: int64(webauthncose.AlgES256)},
		Curve:         int64(webauthncose.P256), XCoord: raw[1:33], YCoord: raw[33:]})
	if err != nil {
		return webauthn.Credential{}, err
	}
	return webauthn.Credential{ID: k.ID, PublicKey: cose, Flags: webauthn.CredentialFlags{UserPresent: flags&UserPresent != 0,
		UserVerified: flags&UserVerified != 0, BackupEligible: flags&BackupEligible != 0, BackupState: flags&BackedUp != 0}}, nil
}

// Assert answers a sign-in ceremony's challenge as k's authenticator
// would, had the browser been at origin and asked for rpID: the JSON of
// PublicKeyCredential.toJSON().
func (k *Key) Assert(challenge, origin, rpID string, count uint32, flags byte) (json.RawMessage, error) {
	client, err := json.Marshal(map[string]any{"type": "webauthn.get", "challenge": challenge, "origin": origin, "crossOrigin": false})
	if err != nil {
		return nil, err
	}
	rp := sha256.Sum256([]byte(rpID))
	auth := append(rp[:], flags, 0, 0, 0, 0)
	binary.BigEndian.PutUint32(auth[33:], count)
	ch := sha256.Sum256(client)
	digest := sha256.Sum256(append(append([]byte{}, auth...), ch[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, k.priv, digest[:])
	if err != nil {
		return nil, err
	}
	b64 := base64.RawURLEncoding.EncodeToString
	return json.Marshal(map[string]any{"id": b64(k.ID), "rawId": b64(k.ID), "type": "public-key", "authenticatorAttachment": "platform",
		"clientExtensionResults": map[string]any{},
		"response":               map[string]any{"clientDataJSON": b64(client), "authenticatorData": b64(auth), "signature": b64(sig), "userHandle": b64(k.Handle)}})
}

// Challenge reads the challenge out of a ceremony's options.
func Challenge(options []byte) (string, error) {
	var o struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(options, &o); err != nil {
		return "", err
	}
	return o.PublicKey.Challenge, nil
}
