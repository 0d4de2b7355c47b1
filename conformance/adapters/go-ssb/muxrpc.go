// Suite muxrpc, framing ops: packet-stream packets through go-muxrpc's codec package
// (codec.Writer.WritePacket and Close for the goodbye; codec.Reader.ReadPacket until the
// library reports the end). go-muxrpc's RPC layer (muxrpc.Handle, its packer and streams)
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
	// codec.Reader has no body limit (it allocates what a header announces), so max_body
	// is not passed anywhere: see DEVIATIONS.md.
	in := &countingReader{r: bytes.NewReader(input)}
	r := codec.NewReader(in)
	packets := []muxPacket{}
	goodbye := false
	for {
		before := in.n
		p, err := r.ReadPacket()
		if err == nil {
			packets = append(packets, muxPacket{
				Stream: p.Flag.Get(codec.FlagStream), End: p.Flag.Get(codec.FlagEndErr),
				Type: typeName(p.Flag), Req: p.Req, Body: toHex(p.Body),
			})
			continue
		}
		if err == io.EOF {
			// ReadPacket answers io.EOF for the goodbye, for input that ends between
			// packets, and for a header whose body has not one byte: the goodbye is nine
			// zero bytes read by this call.
			// A header followed by no body byte at all also ends the read as io.EOF, and
			// go-muxrpc then closes the connection as if it had ended cleanly: that header
			// is reported by nothing, as the library drops it.
			read := input[before:in.n]
			goodbye = len(read) == 9 && bytes.Equal(read, make([]byte, 9))
			if !goodbye && len(read) != 0 {
				fmt := "go-ssb-adapter: muxrpc.decode: %d header bytes then the end, read by the codec as io.EOF\n"
				logf(fmt, len(read))
			}
			break
		}
		return nil, fail("truncated", "after %d packets: %v", len(packets), err)
	}
	return map[string]interface{}{"packets": packets, "goodbye": goodbye}, nil
}
