//go:build !(cgo && linux)

package dkim

import (
	"crypto"
	"crypto/rsa"
	"errors"
)

func libcrypto() (string, error) {
	return "", errors.New("this ward was built without cgo, so cannot load OpenSSL")
}

func newOpenSSLRSA(*rsa.PrivateKey) (crypto.Signer, error) {
	_, err := libcrypto()
	return nil, err
}
