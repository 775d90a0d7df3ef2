package loadtest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"slices"
	"time"
)

// Yardstick is how long one RSA-2048 signature (PKCS #1 v1.5, SHA-256,
// as DKIM makes) takes on one core of this machine: the median of five
// rounds of 20. The same kind of machine is not equally fast from day to
// day, or hour to hour (the same build measured a third fewer sign-ins a
// second), so figures from runs whose yardsticks differ are not
// comparable. (A ward built with cgo has OpenSSL make its RSA
// signatures; Go's constant-time arithmetic is kept here as the measure
// of the machine, comparable with the figures of earlier runs.)
func Yardstick() (time.Duration, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return 0, fmt.Errorf("making the yardstick's key: %w", err)
	}
	digest := sha256.Sum256([]byte("yardstick"))
	var rounds []time.Duration
	for range 5 {
		start := time.Now()
		for range 20 {
			if _, err := key.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
				return 0, fmt.Errorf("signing for the yardstick: %w", err)
			}
		}
		rounds = append(rounds, time.Since(start)/20)
	}
	slices.Sort(rounds)
	return rounds[len(rounds)/2], nil
}
