// Suite muxrpc, framing ops: packet-stream packets through go-muxrpc's codec package
// (codec.Writer.WritePacket and Close for the goodbye; codec.Reader.ReadHeader and
// ReadBodyInto, the calls go-muxrpc's server reads a connection with, until the end). go-muxrpc's RPC layer (muxrpc.Handle, its packer and streams)
// needs a live connection and running goroutines, so muxrpc.endpoint is not offered.
package main

import (
	"bytes"
	"encoding/json"
	"io"

	"github.com/ssbc/go-muxrpc/v2/codec"
)

type muxPacket struct {
	Stream bool   `json:"stream"`
	End    bool   `json:"end"`
	Type   string `json:"type"`
	Req    int32  `json:"req"`
	Body   string `json:"body"`
}

var typeFlags = map[string]codec.Flag{"binary": 0, "string": codec.FlagString, "json": codec.FlagJSON}

func muxrpcEncode(raw json.RawMessage) (interface{}, *opError) {
	var a struct {
		Packets []muxPacket `json:"packets"`
		Goodbye bool        `json:"goodbye"`
	}
	if e := decodeArgs(raw, &a); e != nil {
		return nil, e
	}
	var out bytes.Buffer
	w := codec.NewWriter(&out)
	for i, p := range a.Packets {
		flag, known := typeFlags[p.Type]
		if !known {
			return nil, fail("invalid_args", "packet %d: type %q", i, p.Type)
		}
		if p.Stream {
			flag = flag.Set(codec.FlagStream)
		}
		if p.End {
			flag = flag.Set(codec.FlagEndErr)
		}
		body, e := hexBytes("body", p.Body, -1)
		if e != nil {
			return nil, e
		}
		if err := w.WritePacket(codec.Packet{Flag: flag, Req: p.Req, Body: body}); err != nil {
			return nil, fail("write_failed", "packet %d: %v", i, err)
		}
	}
	if a.Goodbye {
		if err := w.Close(); err != nil {
			return nil, fail("write_failed", "goodbye: %v", err)
		}
	}
	return map[string]string{"output": toHex(out.Bytes())}, nil
}

// typeName reads the type bits as ADAPTER.md names them. The codec never refuses the value 3
// (both bits set); it is reported as such so that the case shows what was delivered.
func typeName(f codec.Flag) string {
	switch {
	case f.Get(codec.FlagString | codec.FlagJSON):
		return "string+json (type bits 3)"
	case f.Get(codec.FlagJSON):
		return "json"
	case f.Get(codec.FlagString):
		return "string"
	}
	return "binary"
}

func muxrpcDecode(raw json.RawMessage) (interface{}, *opError) {
	var a struct {
		Input   string `json:"input"`
		MaxBody int64  `json:"max_body"`
	}
	if e := decodeArgs(raw, &a); e != nil {
		return nil, e
	}
	input, e := hexBytes("input", a.Input, -1)
	if e != nil {
		return nil, e
	}
	// Read as go-muxrpc's server reads a connection (Packer.NextHeader, then the body through
	// Reader.ReadBodyInto): a header, then exactly its length of body. The codec has no body
	// limit, so max_body is not passed anywhere: see DEVIATIONS.md.
	in := &countingReader{r: bytes.NewReader(input)}
	r := codec.NewReader(in)
	packets := []muxPacket{}
	goodbye := false
	for {
		before := in.n
		var hdr codec.Header
		err := r.ReadHeader(&hdr)
		if err == io.EOF {
			// ReadHeader answers io.EOF for the goodbye and for input that ends between
			// packets: the goodbye is nine zero bytes read by this call.
			read := input[before:in.n]
			goodbye = len(read) == 9 && bytes.Equal(read, make([]byte, 9))
			break
		}
		if err != nil {
			return nil, fail("truncated", "after %d packets: %v", len(packets), err)
		}
		var body bytes.Buffer
		if err := r.ReadBodyInto(&body, hdr.Len); err != nil {
			return nil, fail("truncated", "after %d packets (header announced %d bytes): %v", len(packets), hdr.Len, err)
		}
		packets = append(packets, muxPacket{
			Stream: hdr.Flag.Get(codec.FlagStream), End: hdr.Flag.Get(codec.FlagEndErr),
			Type: typeName(hdr.Flag), Req: hdr.Req, Body: toHex(body.Bytes()),
		})
	}
	return map[string]interface{}{"packets": packets, "goodbye": goodbye}, nil
}

// countingReader counts the bytes a library has read.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
