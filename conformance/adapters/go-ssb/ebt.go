// Suite ebt, note ops: EBT v3 notes through go-ssb's ssb.Note (MarshalJSON, the encoder its EBT
// plugin sends with) and ssb.NetworkFrontier (UnmarshalJSON, the decoder it reads a peer's
// notes with). go-ssb has no decoder for one note alone, so ebt.note.decode hands the value to
// NetworkFrontier inside a one-feed body. ebt.session is not offered: go-ssb's EBT state lives
// in plugins/ebt's Replicate handler and internal/statematrix, behind a muxrpc stream and a
// database, with no step-by-step entry point.
package main

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	ssb "github.com/ssbc/go-ssb"
)

type noteOut struct {
	Replicate bool  `json:"replicate"`
	Receive   bool  `json:"receive"`
	Sequence  int64 `json:"sequence"`
}

func noteOf(n ssb.Note) noteOut {
	return noteOut{Replicate: n.Replicate, Receive: n.Receive, Sequence: n.Seq}
}

func ebtNoteEncode(raw json.RawMessage) (interface{}, *opError) {
	var a struct {
		Sequence  int64 `json:"sequence"`
		Receive   bool  `json:"receive"`
		Replicate bool  `json:"replicate"`
	}
	if e := decodeArgs(raw, &a); e != nil {
		return nil, e
	}
	b, err := ssb.Note{Seq: a.Sequence, Receive: a.Receive, Replicate: a.Replicate}.MarshalJSON()
	if err != nil {
		return nil, fail("unknown", "ssb.Note.MarshalJSON: %v", err)
	}
	return json.RawMessage(b), nil
}

// frontierKind names a NetworkFrontier.UnmarshalJSON error: it decodes into
// map[string]int64 with encoding/json, whose errors say which JSON value did not fit.
func frontierKind(err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return "not_json"
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		switch {
		case strings.Contains(typ.Type.String(), "map"):
			return "not_an_object"
		case strings.HasPrefix(typ.Value, "number"):
			return "not_an_integer"
		}
		return "not_a_number"
	}
	return "unknown"
}

// A valid classic feed id that carries a single note through the frontier decoder.
const carrierFeed = "@AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=.ed25519"

func ebtNoteDecode(raw json.RawMessage) (interface{}, *opError) {
	var a struct {
		Value json.RawMessage `json:"value"`
	}
	if e := decodeArgs(raw, &a); e != nil {
		return nil, e
	}
	body := []byte(`{` + strconv.Quote(carrierFeed) + `:` + string(a.Value) + `}`)
	var nf ssb.NetworkFrontier
	if err := nf.UnmarshalJSON(body); err != nil {
		return nil, fail(frontierKind(err), "ssb.NetworkFrontier.UnmarshalJSON: %v", err)
	}
	n, ok := nf[carrierFeed]
	if !ok {
		return nil, fail("unknown", "the decoder dropped the note")
	}
	return noteOf(n), nil
}

func ebtNotesDecode(raw json.RawMessage) (interface{}, *opError) {
	var a struct {
		JSON string `json:"json"`
	}
	if e := decodeArgs(raw, &a); e != nil {
		return nil, e
	}
	var nf ssb.NetworkFrontier
	if err := nf.UnmarshalJSON([]byte(a.JSON)); err != nil {
		return nil, fail(frontierKind(err), "ssb.NetworkFrontier.UnmarshalJSON: %v", err)
	}
	out := map[string]noteOut{}
	for feed, n := range nf {
		out[feed] = noteOf(n)
	}
	return out, nil
}
