// Suites box1, box2 and groups: private-box through go-ssb's private/box Boxer and
// private.Manager.DecryptBox1Message; the envelope through private/box2's Boxer (Encrypt,
// GetReadKey, Decrypt) and DeriveTo; the private-group keys through private.Manager
// (GetOrDeriveKeyFor for DM keys, Join for a group's cloaked id) over an in-memory key store.
// The randomness a seal draws is given by the vector, through the io.Reader both Boxers take.
package main

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/ssbc/go-secretstream/secrethandshake"
	ssb "github.com/ssbc/go-ssb"
	refs "github.com/ssbc/go-ssb-refs"
	"github.com/ssbc/go-ssb-refs/tfk"
	"github.com/ssbc/go-ssb/private"
	"github.com/ssbc/go-ssb/private/box"
	"github.com/ssbc/go-ssb/private/box2"
	"github.com/ssbc/go-ssb/private/keys"
	"github.com/ssbc/margaret/indexes/mapidx"
)

// ---- ids and keys ----

func keyPairOf(seedHex string, feed refs.FeedRef) (ssb.KeyPair, *opError) {
	seed, e := hexBytes("seed", seedHex, 32)
	if e != nil {
		return nil, e
	}
	priv := ed25519.NewKeyFromSeed(seed)
	return ssb.LegacyKeyPair{Feed: feed, Pair: secrethandshake.EdKeyPair{Public: priv.Public().(ed25519.PublicKey), Secret: priv}}, nil
}

func classicFeedOf(seedHex string) (refs.FeedRef, *opError) {
	seed, e := hexBytes("seed", seedHex, 32)
	if e != nil {
		return refs.FeedRef{}, e
	}
	f, err := refs.NewFeedRefFromBytes(ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey), refs.RefAlgoFeedSSB1)
	if err != nil {
		return refs.FeedRef{}, fail("invalid_args", "%v", err)
	}
	return f, nil
}

// contextOf parses the author and previous of an envelope. A null previous is what go-ssb
// itself uses for a feed's first message: a zero hash of the feed format's message kind
// (private/manager_groups.go for classic feeds, message/publish.go for Bendy Butt).
func contextOf(feedStr string, prevStr *string) (refs.FeedRef, refs.MessageRef, *opError) {
	feed, err := refs.ParseFeedRef(feedStr)
	if err != nil {
		return refs.FeedRef{}, refs.MessageRef{}, fail("invalid_context", "feed %q: %v", feedStr, err)
	}
	if prevStr != nil {
		prev, err := refs.ParseMessageRef(*prevStr)
		if err != nil {
			return feed, refs.MessageRef{}, fail("invalid_context", "previous %q: %v", *prevStr, err)
		}
		return feed, prev, nil
	}
	var algo refs.RefAlgo
	switch feed.Algo() {
	case refs.RefAlgoFeedSSB1:
		algo = refs.RefAlgoMessageSSB1
	case refs.RefAlgoFeedBendyButt:
		algo = refs.RefAlgoMessageBendyButt
	case refs.RefAlgoFeedGabby:
		algo = refs.RefAlgoMessageGabby
	default:
		return feed, refs.MessageRef{}, fail("unsupported_feed_format", "no nil previous for feed format %s", feed.Algo())
	}
	prev, err := refs.NewMessageRefFromBytes(make([]byte, 32), algo)
	if err != nil {
		return feed, prev, fail("unsupported_feed_format", "%v", err)
	}
	return feed, prev, nil
}

type keyArg struct {
	Key    string `json:"key"`
	Scheme string `json:"scheme"`
}

func recipientsOf(list []keyArg) (keys.Recipients, *opError) {
	out := keys.Recipients{}
	for _, k := range list {
		b, e := hexBytes("key", k.Key, 32)
		if e != nil {
			return nil, e
		}
		out = append(out, keys.Recipient{Key: keys.Key(b), Scheme: keys.KeyScheme(k.Scheme)})
	}
	return out, nil
}

// contentBody strips the ".box"/".box2" suffix and decodes the base64 the way go-ssb does
// (private/manager.go, private/box2/boxer.go: base64.StdEncoding over the JSON string).
func messageWithContent(content string, author refs.FeedRef, prev *refs.MessageRef) refs.KeyValueRaw {
	quoted, _ := json.Marshal(content)
	return refs.KeyValueRaw{Value: refs.Value{Author: author, Previous: prev, Content: quoted}}
}

// ---- box1 ----

func box1Box(raw json.RawMessage) (interface{}, *opError) {
	var a struct {
		Plaintext       string   `json:"plaintext"`
		Recipients      []string `json:"recipients"`
		Nonce           string   `json:"nonce"`
		BodyKey         string   `json:"body_key"`
		EphemeralSecret string   `json:"ephemeral_secret"`
	}
	if e := decodeArgs(raw, &a); e != nil {
		return nil, e
	}
	plain, e := hexBytes("plaintext", a.Plaintext, -1)
	if e != nil {
		return nil, e
	}
	var rand []byte
	for _, part := range []struct{ name, v string }{{"ephemeral_secret", a.EphemeralSecret}, {"nonce", a.Nonce}, {"body_key", a.BodyKey}} {
		want := 32
		if part.name == "nonce" {
			want = 24
		}
		b, e := hexBytes(part.name, part.v, want)
		if e != nil {
			return nil, e
		}
		rand = append(rand, b...)
	}
	var rcpts []refs.FeedRef
	for _, r := range a.Recipients {
		pk, e := hexBytes("recipient", r, 32)
		if e != nil {
			return nil, e
		}
		f, err := refs.NewFeedRefFromBytes(pk, refs.RefAlgoFeedSSB1)
		if err != nil {
			return nil, fail("invalid_recipient", "%v", err)
		}
		rcpts = append(rcpts, f)
	}
	// box.Boxer reads the one-time secret (32), then the nonce (24), then the body key (32).
	ctxt, err := box.NewBoxer(bytes.NewReader(rand)).Encrypt(plain, rcpts...)
	if err != nil {
		kind := "unknown"
		if strings.Contains(err.Error(), "wrong number of recipients") {
			kind = "too_many_recipients"
			if len(rcpts) == 0 {
				kind = "no_recipients"
			}
		}
		return nil, fail(kind, "box.Boxer.Encrypt: %v", err)
	}
	return map[string]string{"content": base64.StdEncoding.EncodeToString(ctxt) + ".box"}, nil
}

func box1Unbox(raw json.RawMessage) (interface{}, *opError) {
	var a struct {
		Content string `json:"content"`
		Seed    string `json:"seed"`
	}
	if e := decodeArgs(raw, &a); e != nil {
		return nil, e
	}
	feed, e := classicFeedOf(a.Seed)
	if e != nil {
		return nil, e
	}
	kp, e := keyPairOf(a.Seed, feed)
	if e != nil {
		return nil, e
	}
	mgr := private.NewManager(kp, nil, nil, nil, nil, nil)
	plain, err := mgr.DecryptBox1Message(messageWithContent(a.Content, feed, nil))
	if err != nil {
		kind := "invalid_content"
		switch {
		case errors.Is(err, box.ErrPrivateMessageDecryptFailed), strings.Contains(err.Error(), "seems short"):
			// The library answers one error both when no slot opens and when the body
			// does not: see DEVIATIONS.md.
			kind = "not_recipient"
		}
		return nil, fail(kind, "private.Manager.DecryptBox1Message: %v", err)
	}
	return map[string]string{"plaintext": toHex(plain)}, nil
}

// ---- box2 ----

func box2Kind(err error) string {
	switch {
	case errors.Is(err, box2.ErrTooManyRecipients):
		return "too_many_recipients"
	case errors.Is(err, box2.ErrEmptyPlaintext):
		return "empty_plaintext"
	case errors.Is(err, box2.ErrCouldNotDecrypt):
		return "not_recipient"
	case errors.Is(err, box2.ErrInvalid):
		return "bad_body"
	case errors.Is(err, box2.ErrInvalidOffset):
		return "bad_offset"
	case strings.Contains(err.Error(), "slp:"):
		return "label_too_long"
	case strings.Contains(err.Error(), "tfk"):
		return "invalid_context"
	}
	return "unknown"
}

func box2Box(raw json.RawMessage) (interface{}, *opError) {
	var a struct {
		Plaintext  string   `json:"plaintext"`
		Feed       string   `json:"feed"`
		Previous   *string  `json:"previous"`
		MsgKey     string   `json:"msg_key"`
		Recipients []keyArg `json:"recipients"`
	}
	if e := decodeArgs(raw, &a); e != nil {
		return nil, e
	}
	plain, e := hexBytes("plaintext", a.Plaintext, -1)
	if e != nil {
		return nil, e
	}
	msgKey, e := hexBytes("msg_key", a.MsgKey, 32)
	if e != nil {
		return nil, e
	}
	rcpts, e := recipientsOf(a.Recipients)
	if e != nil {
		return nil, e
	}
	feed, prev, e := contextOf(a.Feed, a.Previous)
	if e != nil {
		return nil, e
	}
	ctxt, err := box2.NewBoxer(bytes.NewReader(msgKey)).Encrypt(plain, feed, prev, rcpts)
	if err != nil {
		return nil, fail(box2Kind(err), "box2.Boxer.Encrypt: %v", err)
	}
	return map[string]string{"content": base64.StdEncoding.EncodeToString(ctxt) + ".box2"}, nil
}

// openBox2 reads the ciphertext out of the content as go-ssb does, then asks the Boxer for
// the read key and the plaintext.
func openBox2(content, feedStr string, prevStr *string, trial []keyArg) (plain, readKey []byte, e *opError) {
	feed, prev, e := contextOf(feedStr, prevStr)
	if e != nil {
		return nil, nil, e
	}
	cands, e := recipientsOf(trial)
	if e != nil {
		return nil, nil, e
	}
	msg := messageWithContent(content, feed, &prev)
	ctxt, err := box2.GetCiphertextFromMessage(msg)
	if err != nil {
		return nil, nil, fail("invalid_content", "box2.GetCiphertextFromMessage: %v", err)
	}
	bxr := box2.NewBoxer(nil)
	readKey, err = bxr.GetReadKey(ctxt, feed, prev, cands)
	if err != nil {
		return nil, nil, fail(box2Kind(err), "box2.Boxer.GetReadKey: %v", err)
	}
	plain, err = bxr.Decrypt(ctxt, feed, prev, cands)
	if err != nil {
		return nil, nil, fail(box2Kind(err), "box2.Boxer.Decrypt: %v", err)
	}
	return plain, readKey, nil
}

func box2Unbox(raw json.RawMessage) (interface{}, *opError) {
	var a struct {
		Content     string   `json:"content"`
		Feed        string   `json:"feed"`
		Previous    *string  `json:"previous"`
		TrialKeys   []keyArg `json:"trial_keys"`
		MaxAttempts *int     `json:"max_attempts"`
		ReadKey     *string  `json:"read_key"`
	}
	if e := decodeArgs(raw, &a); e != nil {
		return nil, e
	}
	if a.ReadKey != nil {
		return nil, fail("unsupported", "private/box2 opens a message only through trial keys; it has no entry point for a read key")
	}
	// max_attempts has no counterpart: the Boxer tries every slot up to box2.MaxSlots.
	plain, readKey, e := openBox2(a.Content, a.Feed, a.Previous, a.TrialKeys)
	if e != nil {
		return nil, e
	}
	return map[string]string{"plaintext": toHex(plain), "read_key": toHex(readKey)}, nil
}

func box2DeriveSecret(raw json.RawMessage) (interface{}, *opError) {
	var a struct {
		Feed     string   `json:"feed"`
		Previous *string  `json:"previous"`
		Key      string   `json:"key"`
		Labels   []string `json:"labels"`
	}
	if e := decodeArgs(raw, &a); e != nil {
		return nil, e
	}
	key, e := hexBytes("key", a.Key, 32)
	if e != nil {
		return nil, e
	}
	feed, prev, e := contextOf(a.Feed, a.Previous)
	if e != nil {
		return nil, e
	}
	// The info list box2's Boxer builds (makeInfo): "envelope", TFK(feed), TFK(previous),
	// then the labels.
	tf, err := tfk.FeedFromRef(feed)
	if err != nil {
		return nil, fail("invalid_context", "tfk.FeedFromRef: %v", err)
	}
	feedBytes, err := tf.MarshalBinary()
	if err != nil {
		return nil, fail("invalid_context", "tfk feed: %v", err)
	}
	tm, err := tfk.MessageFromRef(prev)
	if err != nil {
		return nil, fail("invalid_context", "tfk.MessageFromRef: %v", err)
	}
	prevBytes, err := tm.MarshalBinary()
	if err != nil {
		return nil, fail("invalid_context", "tfk message: %v", err)
	}
	infos := [][]byte{[]byte("envelope"), feedBytes, prevBytes}
	for _, l := range a.Labels {
		infos = append(infos, []byte(l))
	}
	out := make([]byte, 32)
	if err := box2.DeriveTo(out, key, infos...); err != nil {
		return nil, fail(box2Kind(err), "box2.DeriveTo: %v", err)
	}
	return map[string]string{"secret": toHex(out)}, nil
}

// ---- groups ----

func memoryKeyStore() *keys.Store { return &keys.Store{Index: mapidx.New()} }

func groupsDMKey(raw json.RawMessage) (interface{}, *opError) {
	var a struct {
		MySeed   string `json:"my_seed"`
		MyFeed   string `json:"my_feed"`
		YourFeed string `json:"your_feed"`
	}
	if e := decodeArgs(raw, &a); e != nil {
		return nil, e
	}
	me, err := refs.ParseFeedRef(a.MyFeed)
	if err != nil {
		return nil, fail("invalid_args", "my_feed: %v", err)
	}
	you, err := refs.ParseFeedRef(a.YourFeed)
	if err != nil {
		return nil, fail("invalid_feed_key", "your_feed: %v", err)
	}
	kp, e := keyPairOf(a.MySeed, me)
	if e != nil {
		return nil, e
	}
	mgr := private.NewManager(kp, nil, memoryKeyStore(), nil, nil, nil)
	ks, err := mgr.GetOrDeriveKeyFor(you)
	if err != nil {
		return nil, fail("unknown", "private.Manager.GetOrDeriveKeyFor: %v", err)
	}
	if len(ks) != 1 {
		return nil, fail("unknown", "GetOrDeriveKeyFor gave %d keys", len(ks))
	}
	return map[string]string{"key": toHex(ks[0].Key), "scheme": string(ks[0].Scheme)}, nil
}

// oneMessage is the message store Manager.Join reads the group's init message from.
type oneMessage struct {
	key refs.MessageRef
	msg refs.Message
}

func (o oneMessage) Get(r refs.MessageRef) (refs.Message, error) {
	if !r.Equal(o.key) {
		return nil, fmt.Errorf("no message %s", r.String())
	}
	return o.msg, nil
}

func groupIDString(ref refs.MessageRef) (string, []byte, *opError) {
	b := make([]byte, 32)
	if err := ref.CopyHashTo(b); err != nil {
		return "", nil, fail("unknown", "%v", err)
	}
	return "ssb:identity/group/" + base64.URLEncoding.EncodeToString(b), b, nil
}

func groupsGroupID(raw json.RawMessage) (interface{}, *opError) {
	var a struct {
		GroupKey string `json:"group_key"`
		Init     struct {
			Key      string  `json:"key"`
			Author   string  `json:"author"`
			Previous *string `json:"previous"`
			Content  string  `json:"content"`
		} `json:"init"`
	}
	if e := decodeArgs(raw, &a); e != nil {
		return nil, e
	}
	groupKey, e := hexBytes("group_key", a.GroupKey, -1)
	if e != nil {
		return nil, e
	}
	root, err := refs.ParseMessageRef(a.Init.Key)
	if err != nil {
		return nil, fail("invalid_args", "init.key: %v", err)
	}
	author, err := refs.ParseFeedRef(a.Init.Author)
	if err != nil {
		return nil, fail("invalid_context", "init.author: %v", err)
	}
	var prev *refs.MessageRef
	if a.Init.Previous != nil {
		p, err := refs.ParseMessageRef(*a.Init.Previous)
		if err != nil {
			return nil, fail("invalid_context", "init.previous: %v", err)
		}
		prev = &p
	}
	// The member joining is not part of the question; any key pair will do for the Manager.
	kp, e := keyPairOf(strings.Repeat("11", 32), author)
	if e != nil {
		return nil, e
	}
	getter := oneMessage{key: root, msg: messageWithContent(a.Init.Content, author, prev)}
	mgr := private.NewManager(kp, nil, memoryKeyStore(), nil, getter, nil)
	cloaked, err := mgr.Join(groupKey, root)
	if err != nil {
		kind := box2Kind(err)
		if strings.Contains(err.Error(), "suffix") || strings.Contains(err.Error(), "base64") {
			kind = "invalid_content"
		}
		return nil, fail(kind, "private.Manager.Join: %v", err)
	}
	id, _, e := groupIDString(cloaked)
	if e != nil {
		return nil, e
	}
	return map[string]string{"group_id": id}, nil
}

func groupsCloakedID(raw json.RawMessage) (interface{}, *opError) {
	var a struct {
		MsgID   string `json:"msg_id"`
		ReadKey string `json:"read_key"`
	}
	if e := decodeArgs(raw, &a); e != nil {
		return nil, e
	}
	readKey, e := hexBytes("read_key", a.ReadKey, 32)
	if e != nil {
		return nil, e
	}
	msg, err := refs.ParseMessageRef(a.MsgID)
	if err != nil {
		return nil, fail("invalid_args", "msg_id: %v", err)
	}
	// The derivation Manager.Join makes once it has the read key (deriveCloakedAndStoreNewKey).
	rootTFK, err := tfk.Encode(msg)
	if err != nil {
		return nil, fail("invalid_args", "tfk.Encode: %v", err)
	}
	out := make([]byte, 32)
	if err := box2.DeriveTo(out, readKey, []byte("cloaked_msg_id"), rootTFK); err != nil {
		return nil, fail("unknown", "box2.DeriveTo: %v", err)
	}
	ref, err := refs.NewMessageRefFromBytes(out, refs.RefAlgoCloakedGroup)
	if err != nil {
		return nil, fail("unknown", "%v", err)
	}
	id, _, e := groupIDString(ref)
	if e != nil {
		return nil, e
	}
	return map[string]string{"cloaked": toHex(out), "group_id": id}, nil
}

func groupsUnbox(raw json.RawMessage) (interface{}, *opError) {
	var a struct {
		Content   string   `json:"content"`
		Author    string   `json:"author"`
		Previous  *string  `json:"previous"`
		TrialKeys []keyArg `json:"trial_keys"`
	}
	if e := decodeArgs(raw, &a); e != nil {
		return nil, e
	}
	plain, _, e := openBox2(a.Content, a.Author, a.Previous, a.TrialKeys)
	if e != nil {
		return nil, e
	}
	return map[string]string{"plaintext": toHex(plain)}, nil
}
