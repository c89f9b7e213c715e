package attest

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// SignerHeader is the PEM header of a private key file that names the key
// ID the key signs as ("person.alice", "slack.main").
const SignerHeader = "Firebreak-Signer"

// GenerateKey makes a new Ed25519 key pair for a key ID.
func GenerateKey(id string) (*Signer, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return NewSigner(id, priv)
}

// MarshalPrivateKey writes the signer's private key as a PKCS#8 PEM block
// ("PRIVATE KEY", as OpenSSL writes Ed25519 keys) with a Firebreak-Signer
// header naming its key ID.
func (s *Signer) MarshalPrivateKey() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(s.key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Headers: map[string]string{SignerHeader: s.ID}, Bytes: der}), nil
}

// ParsePrivateKey reads a private key file: one PEM "PRIVATE KEY" block
// holding a PKCS#8 Ed25519 key (`firebreak keygen` writes one; so does
// `openssl genpkey -algorithm ed25519`). id names the key ID it signs as;
// when "", the file's Firebreak-Signer header must name it. A header that
// disagrees with id is an error, so a key is never used for someone else by
// mistake.
func ParsePrivateKey(data []byte, id string) (*Signer, error) {
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block found: a firebreak key file starts with -----BEGIN PRIVATE KEY----- (make one with `firebreak keygen`)")
	}
	if block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("the PEM block is %q; a firebreak key file holds a PKCS#8 \"PRIVATE KEY\"", block.Type)
	}
	if strings.TrimSpace(string(rest)) != "" {
		return nil, errors.New("the key file holds more than one PEM block; keep one key per file")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("the private key does not parse: %v", err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("the private key is a %T; firebreak signs with Ed25519 keys only", k)
	}
	named := block.Headers[SignerHeader]
	switch {
	case id == "" && named == "":
		return nil, fmt.Errorf("the key file does not say whose key it is (no %s header); say which key ID it signs as", SignerHeader)
	case id == "":
		id = named
	case named != "" && named != id:
		return nil, fmt.Errorf("the key file is the key of %s, not %s", named, id)
	}
	return NewSigner(id, priv)
}
