// Argument decoding shared by every op: hex byte strings, ids, and the invalid_args answer for
// a malformed request (a harness or vector bug, never a case's expected result).
package main

import (
	"encoding/hex"
	"encoding/json"
	"strconv"
)

func decodeArgs(raw json.RawMessage, into interface{}) *opError {
	if err := json.Unmarshal(raw, into); err != nil {
		return fail("invalid_args", "args: %v", err)
	}
	return nil
}

// hexBytes decodes a lowercase hex argument; want < 0 accepts any length.
func hexBytes(name, s string, want int) ([]byte, *opError) {
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fail("invalid_args", "%s is not hex: %v", name, err)
	}
	if want >= 0 && len(b) != want {
		return nil, fail("invalid_args", "%s has %d bytes, want %d", name, len(b), want)
	}
	return b, nil
}

func hexArray32(name, s string) ([32]byte, *opError) {
	var out [32]byte
	b, e := hexBytes(name, s, 32)
	if e != nil {
		return out, e
	}
	copy(out[:], b)
	return out, nil
}

func hexArray24(name, s string) ([24]byte, *opError) {
	var out [24]byte
	b, e := hexBytes(name, s, 24)
	if e != nil {
		return out, e
	}
	copy(out[:], b)
	return out, nil
}

func toHex(b []byte) string { return hex.EncodeToString(b) }

func itoa(i int) string { return strconv.Itoa(i) }
