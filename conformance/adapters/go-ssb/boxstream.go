// Suite boxstream: box-stream framing, through go-secretstream's boxstream.Boxer and
// boxstream.Unboxer. A write is cut the way secretstream.Conn.Write cuts it (bodies of
// boxstream.MaxSegmentSize bytes, nothing for an empty write); a read is Unboxer.ReadMessage
// called until the library says the stream ended (io.EOF at the goodbye) or fails.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/ssbc/go-secretstream/boxstream"
)

type boxstreamArgs struct {
	Key     string   `json:"key"`
	Nonce   string   `json:"nonce"`
	Writes  []string `json:"writes"`
	Goodbye bool     `json:"goodbye"`
	Input   string   `json:"input"`
}

func boxstreamEncrypt(raw json.RawMessage) (interface{}, *opError) {
	var a boxstreamArgs
	if e := decodeArgs(raw, &a); e != nil {
		return nil, e
	}
	key, e := hexArray32("key", a.Key)
	if e != nil {
		return nil, e
	}
	nonce, e := hexArray24("nonce", a.Nonce)
	if e != nil {
		return nil, e
	}
	var out bytes.Buffer
	boxer := boxstream.NewBoxer(&out, &nonce, &key)
	for _, w := range a.Writes {
		data, e := hexBytes("writes", w, -1)
		if e != nil {
			return nil, e
		}
		for buf := bytes.NewBuffer(data); buf.Len() > 0; {
			if err := boxer.WriteMessage(buf.Next(boxstream.MaxSegmentSize)); err != nil {
				return nil, fail("write_failed", "%v", err)
			}
		}
	}
	if a.Goodbye {
		if err := boxer.WriteGoodbye(); err != nil {
			return nil, fail("write_failed", "%v", err)
		}
	}
	return map[string]string{"output": toHex(out.Bytes())}, nil
}

// unboxKind names an Unboxer.ReadMessage error in the protocol's words. The library returns
// io.EOF at the goodbye, io.EOF or io.ErrUnexpectedEOF from its reads, and errors.New texts
// for a header or body that does not open and for a length over MaxSegmentSize.
func unboxKind(err error) string {
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "truncated"
	case strings.Contains(err.Error(), "invalid header box"):
		return "header_auth_failed"
	case strings.Contains(err.Error(), "invalid body box"):
		return "body_auth_failed"
	case strings.Contains(err.Error(), "exceeds maximum segment size"):
		return "body_too_long"
	}
	return "unknown"
}

func boxstreamDecrypt(raw json.RawMessage) (interface{}, *opError) {
	var a boxstreamArgs
	if e := decodeArgs(raw, &a); e != nil {
		return nil, e
	}
	key, e := hexArray32("key", a.Key)
	if e != nil {
		return nil, e
	}
	nonce, e := hexArray24("nonce", a.Nonce)
	if e != nil {
		return nil, e
	}
	input, e := hexBytes("input", a.Input, -1)
	if e != nil {
		return nil, e
	}
	in := &countingReader{r: bytes.NewReader(input)}
	unboxer := boxstream.NewUnboxer(in, &nonce, &key)
	bodies := []string{}
	for {
		before := in.n
		msg, err := unboxer.ReadMessage()
		if err == nil {
			bodies = append(bodies, toHex(msg))
			continue
		}
		// The library answers io.EOF both at the goodbye and when the input ends before a
		// header: the goodbye is the case where the call consumed a whole header.
		if err == io.EOF && in.n-before == boxstream.HeaderLength {
			break
		}
		if err == io.EOF {
			return nil, fail("truncated", "the input ended without the goodbye (%d bodies read)", len(bodies))
		}
		return nil, fail(unboxKind(err), "after %d bodies: %v", len(bodies), err)
	}
	// The library stops at the goodbye and never reads on; bytes left after it are not its
	// concern (see DEVIATIONS.md), so they are not looked at here either.
	return map[string]interface{}{"bodies": bodies}, nil
}
