// Suite feed-legacy: classic (legacy JSON) messages, through go-ssb's message/legacy package
// (PrettyPrint for the signing encoding, InternalV8Binary for the bytes a message id hashes,
// VerifyWithBuffer for one message) and message.ValidateNext for the feed chain: the two calls
// go-ssb's replication makes for every received classic message (message/drains.go,
// generalVerifyDrain.Verify).
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"

	refs "github.com/ssbc/go-ssb-refs"
	"github.com/ssbc/go-ssb/message"
	"github.com/ssbc/go-ssb/message/legacy"
)

func legacyEncode(raw json.RawMessage) (interface{}, *opError) {
	var a struct {
		JSON string `json:"json"`
	}
	if e := decodeArgs(raw, &a); e != nil {
		return nil, e
	}
	text, e := hexBytes("json", a.JSON, -1)
	if e != nil {
		return nil, e
	}
	enc, err := legacy.PrettyPrint(text)
	if err != nil {
		return nil, fail("invalid_json", "legacy.PrettyPrint: %v", err)
	}
	v8, err := legacy.InternalV8Binary(enc)
	if err != nil {
		return nil, fail("invalid_json", "legacy.InternalV8Binary: %v", err)
	}
	sum := sha256.Sum256(v8)
	// InternalV8Binary keeps one byte per UTF-16 unit, so its length is the length in units.
	return map[string]interface{}{"signing": toHex(enc), "length": len(v8), "sha256": toHex(sum[:])}, nil
}

type feedState struct {
	ID string `json:"id"`
	// JSON has one number type: a state of 1.0 is sequence 1.
	Sequence float64 `json:"sequence"`
}

// hmacKeyOf reads caps.sign as go-sbot's configuration does: base64 of exactly 32 bytes.
func hmacKeyOf(raw json.RawMessage) (*[32]byte, *opError) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fail("invalid_hmac_key", "hmac_key is not a string: %s", raw)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != 32 {
		return nil, fail("invalid_hmac_key", "hmac_key is not base64 of 32 bytes (%d bytes, %v)", len(b), err)
	}
	var k [32]byte
	copy(k[:], b)
	return &k, nil
}

// verifyKind names a legacy.VerifyWithBuffer error by the check that raised it. The library
// has no typed errors, so its texts (message/legacy/verify.go, encode.go, signature.go and
// go-ssb-refs' parsers, quoted in DEVIATIONS.md) are matched.
func verifyKind(msg string) string {
	has := func(s string) bool { return strings.Contains(msg, s) }
	switch {
	case has("invalid field order"):
		return "invalid_order"
	case has("failed to format message as object"):
		if has("ReadObject") || has("expect { or n") {
			return "invalid_author"
		}
		return "invalid_json"
	case has("could not encode message"):
		return "invalid_json"
	case has("could not json.Unmarshal message"):
		// json-iterator names the fields on its path: "legacy.DeserializedMessage.A: B: …";
		// the last field name on that path is the one whose value failed.
		field := ""
		if i := strings.Index(msg, "DeserializedMessage."); i >= 0 {
			for _, seg := range strings.Split(msg[i+len("DeserializedMessage."):], ": ") {
				switch seg {
				case "Author", "Timestamp", "Sequence", "Previous", "Hash", "Content":
					field = seg
				}
			}
		}
		switch field {
		case "Author":
			return "invalid_author"
		case "Timestamp":
			return "timestamp_not_number"
		case "Sequence", "Previous", "Hash", "Content":
			return "invalid_properties"
		}
		if has("ReadObject") || has("expect {") {
			return "invalid_author"
		}
		return "invalid_json"
	case has("wrong hash value"), has("has no content"), has("unexpected content"), has("need to have the right suffix"):
		return "invalid_properties"
	case has("message too large"):
		return "too_long"
	case has("requires a type field"), has("Type"):
		return "invalid_content_type"
	case has("could not extract signature"):
		return "invalid_signature_format"
	case has("could hash convert"):
		return "invalid_json"
	}
	if has("ssb Verify(") {
		return "invalid_signature"
	}
	return "unknown"
}

func nextKind(msg string) string {
	switch {
	case strings.Contains(msg, "first message has to have sequence 1"):
		return "first_sequence_not_one"
	case strings.Contains(msg, "already got message"), strings.Contains(msg, "!= curr.seq+1"):
		return "sequence_mismatch"
	case strings.Contains(msg, "previous compare failed"):
		return "previous_mismatch"
	case strings.Contains(msg, "wrong author"):
		return "invalid_author"
	}
	return "unknown"
}

func feedValidate(raw json.RawMessage) (interface{}, *opError) {
	var a struct {
		State   *feedState      `json:"state"`
		HmacKey json.RawMessage `json:"hmac_key"`
		Message string          `json:"message"`
	}
	if e := decodeArgs(raw, &a); e != nil {
		return nil, e
	}
	text, e := hexBytes("message", a.Message, -1)
	if e != nil {
		return nil, e
	}
	hmacKey, e := hmacKeyOf(a.HmacKey)
	if e != nil {
		return nil, e
	}
	ref, dmsg, err := legacy.VerifyWithBuffer(text, hmacKey, new(bytes.Buffer))
	if err != nil {
		// The wrapper quotes the message's first bytes; the check that failed is named by
		// the wrapped error, so that is what is matched when there is one.
		what := err.Error()
		if inner := errors.Unwrap(err); inner != nil && strings.Contains(what, "json.Unmarshal") {
			what = "could not json.Unmarshal message: " + inner.Error()
		}
		return nil, fail(verifyKind(what), "%v", err)
	}
	next := refs.KeyValueRaw{Key_: ref, Value: refs.Value{Previous: dmsg.Previous, Author: dmsg.Author, Sequence: dmsg.Sequence}}
	var current refs.Message
	if a.State != nil {
		stateID, err := refs.ParseMessageRef(a.State.ID)
		if err != nil {
			return nil, fail("invalid_args", "state.id: %v", err)
		}
		// The state is the feed's last message; its author is the feed's, the message's own.
		current = refs.KeyValueRaw{Key_: stateID, Value: refs.Value{Author: dmsg.Author, Sequence: int64(a.State.Sequence)}}
	}
	if err := message.ValidateNext(current, next); err != nil {
		return nil, fail(nextKind(err.Error()), "message.ValidateNext: %v", err)
	}
	return map[string]string{"id": ref.Sigil()}, nil
}
