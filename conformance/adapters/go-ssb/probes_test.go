// Probes for the findings in reports/findings/go-ssb-*.md: each test rebuilds a finding from
// the vectors and checks that go-ssb still behaves as the finding says, so that a fix upstream
// (or a wrong reading here) shows up as a failing probe.
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"filippo.io/edwards25519"
	refs "github.com/ssbc/go-ssb-refs"
	"github.com/ssbc/go-ssb/message/legacy"
	"golang.org/x/crypto/curve25519"
	"golang.org/x/crypto/hkdf"
)

type vectorCase struct {
	ID    string `json:"id"`
	Input struct {
		Op   string          `json:"op"`
		Args json.RawMessage `json:"args"`
	} `json:"input"`
	Expect json.RawMessage `json:"expect"`
}

func loadCase(t *testing.T, suite, id string) vectorCase {
	t.Helper()
	dir := os.Getenv("SSB_VECTORS")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "vectors")
	}
	data, err := os.ReadFile(filepath.Join(dir, suite+".json"))
	if err != nil {
		t.Fatalf("vectors: %v", err)
	}
	var file struct {
		Cases []vectorCase `json:"cases"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatalf("vectors %s: %v", suite, err)
	}
	for _, c := range file.Cases {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no case %s", id)
	return vectorCase{}
}

// run sends one request through the adapter's dispatcher, as the harness would.
func run(t *testing.T, c vectorCase) (interface{}, *opError) {
	t.Helper()
	return dispatch(request{Op: c.Input.Op, Args: c.Input.Args})
}

func slp(items ...[]byte) []byte {
	var out []byte
	for _, it := range items {
		out = binary.LittleEndian.AppendUint16(out, uint16(len(it)))
		out = append(out, it...)
	}
	return out
}

// The DM key of the private-group spec, computed here from its definition, with and without
// one empty SLP element before the info context.
func dmKeys(t *testing.T, seed []byte, mine, yours refs.FeedRef) (spec, withEmpty []byte) {
	t.Helper()
	mont := func(pub []byte) []byte {
		p, err := new(edwards25519.Point).SetBytes(pub)
		if err != nil {
			t.Fatalf("point: %v", err)
		}
		return p.BytesMontgomery()
	}
	h := sha512.Sum512(seed)
	shared, err := curve25519.X25519(h[:32], mont(yours.PubKey()))
	if err != nil {
		t.Fatalf("x25519: %v", err)
	}
	blob := func(f refs.FeedRef) []byte {
		b := append([]byte{3, 0}, mont(f.PubKey())...)
		return append(append(b, 0, 0), f.PubKey()...)
	}
	pair := [][]byte{blob(mine), blob(yours)}
	sort.Slice(pair, func(i, j int) bool { return bytes.Compare(pair[i], pair[j]) < 0 })
	salt := sha256.Sum256([]byte("envelope-dm-v1-extract-salt"))
	derive := func(info []byte) []byte {
		out := make([]byte, 32)
		if _, err := hkdf.New(sha256.New, shared, salt[:], info).Read(out); err != nil {
			t.Fatalf("hkdf: %v", err)
		}
		return out
	}
	ctx := []byte("envelope-ssb-dm-v1/key")
	return derive(slp(ctx, pair[0], pair[1])), derive(slp(nil, ctx, pair[0], pair[1]))
}

// Finding go-ssb-dm-key-info: private.Manager.GetOrDeriveKeyFor calls slp.Encode(nil, …),
// which encodes the nil as a first, empty element of the HKDF info.
func TestProbeDMKeyHasAnEmptyInfoElement(t *testing.T) {
	c := loadCase(t, "groups", "groups/0001")
	var a struct {
		MySeed   string `json:"my_seed"`
		MyFeed   string `json:"my_feed"`
		YourFeed string `json:"your_feed"`
	}
	if err := json.Unmarshal(c.Input.Args, &a); err != nil {
		t.Fatal(err)
	}
	var want struct {
		Key string `json:"key"`
	}
	if err := json.Unmarshal(c.Expect, &want); err != nil {
		t.Fatal(err)
	}
	seed, _ := hex.DecodeString(a.MySeed)
	mine, _ := refs.ParseFeedRef(a.MyFeed)
	yours, _ := refs.ParseFeedRef(a.YourFeed)
	spec, withEmpty := dmKeys(t, seed, mine, yours)
	if hex.EncodeToString(spec) != want.Key {
		t.Fatalf("the spec's derivation here gives %x, the vector %s", spec, want.Key)
	}
	ok, oerr := run(t, c)
	if oerr != nil {
		t.Fatalf("adapter: %v", oerr)
	}
	got := ok.(map[string]string)["key"]
	if got != hex.EncodeToString(withEmpty) {
		t.Fatalf("go-ssb gives %s; with an empty first info element the key is %x, by the spec %x", got, withEmpty, spec)
	}
}

// Finding go-ssb-empty-object: legacy.PrettyPrint writes an empty object as "{\n\n<indent>}",
// where JSON.stringify(v, null, 2) writes "{}", so a message with {} anywhere in its content,
// signed by a JS client, fails go-ssb's signature check.
func TestProbeEmptyObjectEncoding(t *testing.T) {
	seed := bytes.Repeat([]byte{7}, 32)
	priv := ed25519.NewKeyFromSeed(seed)
	author, _ := refs.NewFeedRefFromBytes(priv.Public().(ed25519.PublicKey), refs.RefAlgoFeedSSB1)
	// A first message as JSON.stringify(value, null, 2) writes it (the form the feed-legacy
	// vectors check for empty containers: "{}"), signed over exactly those bytes.
	jsSigned := func(x string) []byte {
		unsigned := "{\n  \"previous\": null,\n  \"author\": \"" + author.Sigil() + "\",\n  \"sequence\": 1,\n" +
			"  \"timestamp\": 1700000000000,\n  \"hash\": \"sha256\",\n  \"content\": {\n    \"type\": \"test\",\n    \"x\": " + x + "\n  }\n}"
		sig := ed25519.Sign(priv, []byte(unsigned))
		return []byte(strings.TrimSuffix(unsigned, "\n}") + ",\n  \"signature\": \"" + b64(sig) + ".sig.ed25519\"\n}")
	}
	if _, _, err := legacy.Verify(jsSigned("1"), nil); err != nil {
		t.Fatalf("control: a JS-encoded message without an empty object fails: %v", err)
	}
	withEmpty := jsSigned("{}")
	pretty, err := legacy.PrettyPrint(withEmpty)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(pretty, []byte("\"x\": {\n\n    }")) {
		t.Fatalf("PrettyPrint no longer writes an empty object as {\\n\\n}: %q", pretty)
	}
	_, _, err = legacy.Verify(withEmpty, nil)
	if err == nil || !strings.Contains(err.Error(), "invalid signature") {
		t.Fatalf("legacy.Verify on a JS-encoded message with an empty object: %v", err)
	}
	t.Logf("legacy.Verify: %v", err)
}

func b64(b []byte) string { return base64Std.EncodeToString(b) }

var base64Std = base64.StdEncoding

// The behaviour each finding describes, case by case: the error kind the adapter reports for
// the vector ("" when go-ssb accepts it).
func TestProbeFindingCases(t *testing.T) {
	probes := []struct {
		suite, id, kind, finding string
	}{
		{"box1", "box1/0032", "panic", "go-ssb-unbox-panic"},
		{"box2", "box2/0067", "panic", "go-ssb-unbox-panic"},
		{"feed-legacy", "feed-legacy/0051", "invalid_signature", "go-ssb-lone-surrogate"},
		{"feed-legacy", "feed-legacy/0055", "", "go-ssb-size-limit"},
		{"feed-legacy", "feed-legacy/0058", "", "go-ssb-size-limit"},
		{"feed-legacy", "feed-legacy/0090", "", "go-ssb-signature-base64"},
		{"feed-legacy", "feed-legacy/0105", "", "go-ssb-small-order-author"},
		{"feed-bendybutt", "feed-bendybutt/0028", "", "go-ssb-bendybutt-canonical"},
	}
	for _, p := range probes {
		_, oerr := run(t, loadCase(t, p.suite, p.id))
		got := ""
		if oerr != nil {
			got = oerr.Kind
		}
		if got != p.kind {
			t.Errorf("%s (%s): go-ssb now answers %q, the finding says %q", p.id, p.finding, got, p.kind)
		}
	}
	// A box2 ciphertext shorter than its header, tried with any key.
	args := `{"content":"AAAA.box2","feed":"@kUq/OZFI1YVF8c1S2vXYDXacSxvoNSuP1m3OBzuF1cY=.ed25519",` +
		`"previous":"%2ZoKUasx48QoV6FC12J2nnBSwqCFTOb6JA8VDt/g4b8=.sha256","max_attempts":16,` +
		`"trial_keys":[{"key":"6b8fa5ee93cac82b5ae4882b2abc72611042159f5cf66d3397c24a71a4d60cd7","scheme":"envelope-large-symmetric-group"}]}`
	if _, oerr := dispatch(request{Op: "box2.unbox", Args: json.RawMessage(args)}); oerr == nil || oerr.Kind != "panic" {
		t.Errorf("short box2 ciphertext (go-ssb-unbox-panic): %v, the finding says a panic", oerr)
	}
}
