// Package nocomment stands in for go.cryptoscope.co/nocomment, which go-ssb imports but the Go
// module proxy does not serve. go-ssb uses it only when it reads a secret file from disk
// (ssb.LoadKeyPair): the file may start with lines of `#` comments before its JSON. The peer
// never reads a secret file (it is given its key pair), but the import must build.
package nocomment

import (
	"bufio"
	"bytes"
	"io"
)

// NewReader returns a reader over r without the lines whose first non-blank byte is '#'.
func NewReader(r io.Reader) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		br := bufio.NewReader(r)
		for {
			line, err := br.ReadBytes('\n')
			if len(line) > 0 && !bytes.HasPrefix(bytes.TrimLeft(line, " \t"), []byte("#")) {
				if _, werr := pw.Write(line); werr != nil {
					return
				}
			}
			if err != nil {
				if err == io.EOF {
					err = nil
				}
				pw.CloseWithError(err)
				return
			}
		}
	}()
	return pr
}
