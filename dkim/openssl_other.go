//go:build !(cgo && linux) || noopenssl

package dkim

import (
	"crypto"
	"crypto/rsa"
	"errors"
)

const builtWithOpenSSL = false

func libcrypto() (string, error) {
	return "", errors.New("this ward was built without OpenSSL (CGO_ENABLED=0 or -tags noopenssl); a build with cgo on Linux has it")
}

func newOpenSSLRSA(*rsa.PrivateKey) (crypto.Signer, error) {
	_, err := libcrypto()
	return nil, err
}
