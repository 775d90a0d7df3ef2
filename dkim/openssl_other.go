//go:build !(openssl && cgo && linux)

package dkim

import (
	"crypto"
	"crypto/rsa"
	"errors"
)

const builtWithOpenSSL = false

func libcrypto() (string, error) {
	return "", errors.New("this ward was built without OpenSSL (go build -tags openssl, with cgo, has it)")
}

func newOpenSSLRSA(*rsa.PrivateKey) (crypto.Signer, error) {
	_, err := libcrypto()
	return nil, err
}
