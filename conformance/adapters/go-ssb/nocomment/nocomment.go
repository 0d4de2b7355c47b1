// Package nocomment stands in for the module go.cryptoscope.co/nocomment, which go-ssb's root
// package imports but which the Go module proxy does not serve. go-ssb calls one function of it,
// NewReader, and only in LoadKeyPair, to read an SSB secret file while skipping the comment lines
// that file starts with. The adapter never loads a secret file; this stand-in is ours and does
// what that caller needs: it yields the input without the lines whose first non-blank character
// is '#'.
package nocomment

import (
	"bufio"
	"bytes"
	"io"
)

// NewReader returns a reader over r's lines that are not comments.
func NewReader(r io.Reader) io.Reader {
	var out bytes.Buffer
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if t := bytes.TrimLeft(line, " \t"); len(t) > 0 && t[0] == '#' {
			continue
		}
		out.Write(line)
		out.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return io.MultiReader(&out, errReader{err})
	}
	return &out
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
