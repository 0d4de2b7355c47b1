// Given randomness: go-secretstream draws its ephemeral handshake key from crypto/rand.Reader
// inside NewClientState/NewServerState and offers no parameter for it. The vectors give that key,
// so the adapter points crypto/rand.Reader at the given bytes for the length of that one call
// (the library reads exactly 32 bytes, the curve25519 secret it then uses as is), and puts the
// system reader back at once. Nothing else of the library is touched.
package main

import (
	"bytes"
	"crypto/rand"
	"io"
)

func withRandom(given []byte, f func() error) error {
	saved := rand.Reader
	rand.Reader = io.MultiReader(bytes.NewReader(given), errorReader{})
	defer func() { rand.Reader = saved }()
	return f()
}

// errorReader fails a read past the given bytes, so a library that wants more randomness than
// the vector gives is noticed instead of silently getting system randomness.
type errorReader struct{}

func (errorReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }
