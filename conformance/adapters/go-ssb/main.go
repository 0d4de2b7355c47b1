// Command go-ssb-adapter speaks the ssb-harness adapter protocol (conformance/ADAPTER.md):
// newline-delimited JSON requests on standard input, one JSON response per line on standard
// output. Every op is answered by go-ssb's own libraries (go-secretstream, go-muxrpc, go-ssb's
// message/legacy, private/box, private/box2 and private/keys, go-metafeed, go-ssb-refs); the
// adapter only decodes the arguments, calls the library, and names the library's answer in the
// protocol's words. An op the libraries cannot express answers "unsupported".
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

// request is one line from the harness.
type request struct {
	ID   json.RawMessage `json:"id"`
	Op   string          `json:"op"`
	Args json.RawMessage `json:"args"`
}

// opError is an error answer: kind is compared with the vector, message is for humans.
type opError struct {
	Kind    string `json:"kind"`
	Message string `json:"message,omitempty"`
}

func (e *opError) Error() string { return e.Kind + ": " + e.Message }

func fail(kind, format string, a ...interface{}) *opError {
	return &opError{Kind: kind, Message: fmt.Sprintf(format, a...)}
}

// handler answers one op from its raw args.
type handler func(args json.RawMessage) (interface{}, *opError)

var handlers = map[string]handler{
	"capabilities":       func(json.RawMessage) (interface{}, *opError) { return capabilities(), nil },
	"shs.client":         shsClient,
	"shs.server":         shsServer,
	"boxstream.encrypt":  boxstreamEncrypt,
	"boxstream.decrypt":  boxstreamDecrypt,
	"legacy.encode":      legacyEncode,
	"feed.validate":      feedValidate,
	"bendybutt.validate": bendybuttValidate,
	"muxrpc.encode":      muxrpcEncode,
	"muxrpc.decode":      muxrpcDecode,
	"ebt.note.encode":    ebtNoteEncode,
	"ebt.note.decode":    ebtNoteDecode,
	"ebt.notes.decode":   ebtNotesDecode,
	"box1.box":           box1Box,
	"box1.unbox":         box1Unbox,
	"box2.box":           box2Box,
	"box2.unbox":         box2Unbox,
	"box2.derive_secret": box2DeriveSecret,
	"groups.dm_key":      groupsDMKey,
	"groups.group_id":    groupsGroupID,
	"groups.cloaked_id":  groupsCloakedID,
	"groups.unbox":       groupsUnbox,
}

// dispatch runs one request. A panic inside the library is caught and answered as the error
// kind "panic" with its value, so that one crash costs one case and the report shows it.
func dispatch(req request) (ok interface{}, oerr *opError) {
	h, found := handlers[req.Op]
	if !found {
		if reason, known := unsupportedOps[req.Op]; known {
			return nil, &opError{Kind: "unsupported", Message: reason}
		}
		return nil, &opError{Kind: "unsupported", Message: "unknown op " + req.Op}
	}
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(os.Stderr, "go-ssb-adapter: op %s panicked: %v\n%s", req.Op, p, debug.Stack())
			ok, oerr = nil, fail("panic", "the library panicked: %v", p)
		}
	}()
	return h(req.Args)
}

func main() {
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	out := bufio.NewWriter(os.Stdout)
	for {
		line, err := in.ReadBytes('\n')
		if len(line) > 0 {
			answer(out, line)
		}
		if err == io.EOF {
			return
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "go-ssb-adapter: reading stdin: %v\n", err)
			os.Exit(1)
		}
	}
}

func answer(out *bufio.Writer, line []byte) {
	var req request
	resp := map[string]interface{}{}
	if err := json.Unmarshal(line, &req); err != nil {
		resp["id"] = nil
		resp["error"] = fail("invalid_args", "request is not JSON: %v", err)
	} else {
		resp["id"] = req.ID
		ok, oerr := dispatch(req)
		if oerr != nil {
			resp["error"] = oerr
		} else {
			resp["ok"] = ok
		}
	}
	enc, err := json.Marshal(resp)
	if err != nil {
		enc, _ = json.Marshal(map[string]interface{}{"id": req.ID, "error": fail("invalid_args", "cannot encode answer: %v", err)})
	}
	out.Write(enc)
	out.WriteByte('\n')
	out.Flush()
}
