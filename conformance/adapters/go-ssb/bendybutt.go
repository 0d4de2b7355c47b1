// Suite feed-bendybutt: Bendy Butt feeds and meta feed management content, through
// go-metafeed's Message (UnmarshalBencode, Payload, Verify, Key) and go-ssb's
// message.ValidateNext, in the order go-ssb's metafeedVerify and generalVerifyDrain run them
// (message/drains.go); content is judged as go-ssb's meta feed indexer judges it
// (graph/builder_indexing.go: the content pair, its type, metamngmt's decoding with
// metafeed.VerifySubSignedContent, and the metafeed field against the author).
package main

import (
	"encoding/json"
	"strings"

	"github.com/ssbc/go-metafeed"
	"github.com/ssbc/go-metafeed/metamngmt"
	refs "github.com/ssbc/go-ssb-refs"
	"github.com/ssbc/go-ssb/message"
	"github.com/zeebo/bencode"
)

func messageKind(msg string) string {
	has := func(s string) bool { return strings.Contains(msg, s) }
	switch {
	case has("message too big"), has("message is too large"):
		return "too_long"
	case has("failed to decode raw Message array"), has("failed to decode raw slices"):
		return "invalid_bencode"
	case has("expected two elemnts"), has("expected at least 5 parts"):
		return "invalid_shape"
	case has("signture"), has("signature portion"):
		return "invalid_signature_format"
	case has("author"):
		return "invalid_author"
	case has("squence"):
		// "expected squence": the sequence did not decode as an integer (a kind fault).
		return "invalid_shape"
	case has("previous"):
		return "invalid_previous"
	case has("timestamp"):
		return "invalid_shape"
	}
	return "unknown"
}

// contentKind runs the meta feed indexer's checks on one message's content.
func contentKind(msg *metafeed.Message) *opError {
	var pair []bencode.RawMessage
	if err := bencode.DecodeBytes(msg.ContentBytes(), &pair); err != nil {
		return fail("metafeed_content", "content array unmarshal failed: %v", err)
	}
	if len(pair) != 2 {
		return fail("metafeed_content", "content is not a pair (%d items)", len(pair))
	}
	var typed metamngmt.Typed
	if err := bencode.DecodeBytes(pair[0], &typed); err != nil || typed.Type == "" {
		return fail("metafeed_content", "content has no or broken type field: %v", err)
	}
	var metaFeed refs.FeedRef
	var err error
	switch typed.Type {
	case "metafeed/add/existing":
		var c metamngmt.AddExisting
		err = metafeed.VerifySubSignedContent(msg.ContentBytes(), &c)
		metaFeed = c.MetaFeed
	case "metafeed/add/derived":
		var c metamngmt.AddDerived
		err = metafeed.VerifySubSignedContent(msg.ContentBytes(), &c)
		metaFeed = c.MetaFeed
	case "metafeed/tombstone":
		var c metamngmt.Tombstone
		err = metafeed.VerifySubSignedContent(msg.ContentBytes(), &c)
		metaFeed = c.MetaFeed
	default:
		return fail("metafeed_type", "unhandled message type %q", typed.Type)
	}
	if err != nil {
		e := err.Error()
		switch {
		// VerifySubSignedContent returns the TFK decoder's own error, unwrapped, only for
		// the subfeed field it reads first to find the key; the content decoders wrap theirs.
		case strings.HasPrefix(e, "ssb/tfk"):
			return fail("metafeed_subfeed", "sub-signature is invalid: %v", err)
		case strings.Contains(e, "subfeed") || strings.Contains(e, "SubFeed"):
			return fail("metafeed_subfeed", "sub-signature is invalid: %v", err)
		case strings.Contains(e, "metafeed") || strings.Contains(e, "MetaFeed"):
			return fail("metafeed_metafeed", "sub-signature is invalid: %v", err)
		case strings.Contains(e, "nonce") || strings.Contains(e, "Nonce"):
			return fail("metafeed_nonce", "sub-signature is invalid: %v", err)
		case strings.Contains(e, "verify") || strings.Contains(e, "signature"):
			return fail("metafeed_content_signature", "sub-signature is invalid: %v", err)
		}
		return fail("metafeed_content", "sub-signature is invalid: %v", err)
	}
	if !metaFeed.Equal(msg.Author()) {
		return fail("metafeed_metafeed", "content is not about the author of the metafeed (%s)", metaFeed.String())
	}
	return nil
}

func bendybuttValidate(raw json.RawMessage) (interface{}, *opError) {
	var a struct {
		Messages []string `json:"messages"`
		Metafeed bool     `json:"metafeed"`
		HmacKey  *string  `json:"hmac_key"`
	}
	if e := decodeArgs(raw, &a); e != nil {
		return nil, e
	}
	var hmacKey *[32]byte
	if a.HmacKey != nil {
		k, e := hexArray32("hmac_key", *a.HmacKey)
		if e != nil {
			return nil, e
		}
		hmacKey = &k
	}
	keys := []string{}
	var last refs.Message
	for i, h := range a.Messages {
		data, e := hexBytes("messages", h, -1)
		if e != nil {
			return nil, e
		}
		msg := new(metafeed.Message)
		if err := msg.UnmarshalBencode(data); err != nil {
			return nil, fail(messageKind(err.Error()), "message %d: metafeed.Message.UnmarshalBencode: %v", i, err)
		}
		// Verify decodes the payload itself and answers only false; the payload is decoded
		// first so that its fault can be named.
		if _, err := msg.Payload(); err != nil {
			return nil, fail(messageKind(err.Error()), "message %d: metafeed.Message.Payload: %v", i, err)
		}
		if !msg.Verify(hmacKey) {
			return nil, fail("invalid_signature", "message %d: metafeed.Message.Verify is false", i)
		}
		if err := message.ValidateNext(last, msg); err != nil {
			kind := nextKind(err.Error())
			if kind == "invalid_author" {
				kind = "author_mismatch"
			}
			return nil, fail(kind, "message %d: message.ValidateNext: %v", i, err)
		}
		if a.Metafeed {
			if e := contentKind(msg); e != nil {
				e.Message = "message " + itoa(i) + ": " + e.Message
				return nil, e
			}
		}
		keys = append(keys, msg.Key().URI())
		last = msg
	}
	return map[string]interface{}{"keys": keys}, nil
}
