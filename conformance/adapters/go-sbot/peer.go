// Command peer runs go-ssb's server (the `sbot` package behind go-sbot) as a controllable SSB
// peer for interop tests: it listens on 127.0.0.1 only, prints one ready line with its id, then
// answers newline-delimited JSON commands on stdin, the same commands (and answers) as the
// JavaScript peer in ../js-node/peer.js, for the subset go-ssb can do.
//
//	peer --port P --data DIR --seed HEX64 [--shs-cap BASE64] [--ebt on|off]
//	     [--legacy-live on|off] [--hops N] [--promisc]
//
// stdout: one JSON object per line, first {"event":"ready","id":"@…","port":P,…}, then
// {"id":N,"ok":…} or {"id":N,"error":"…"} per command. Logs go to stderr.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	kitlog "go.mindeco.de/log"

	"github.com/ssbc/go-netwrap"
	"github.com/ssbc/go-secretstream"
	"github.com/ssbc/go-ssb"
	refs "github.com/ssbc/go-ssb-refs"
	"github.com/ssbc/go-ssb-refs/tfk"
	"github.com/ssbc/go-ssb/sbot"
	librarian "github.com/ssbc/margaret/indexes"
)

// The main network's secret-handshake capability.
const mainShsCap = "1KHLiKZvAvjbY1ziZEHMXawbCEIM6qwjCDm3VYRan/s="

type options struct {
	port       int
	data       string
	seedHex    string
	shsCap     string
	ebt        string
	legacyLive string
	hops       uint
	promisc    bool
}

func die(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "go-sbot peer: "+format+"\n", a...)
	os.Exit(2)
}

func parseArgs() options {
	var o options
	flag.IntVar(&o.port, "port", 0, "TCP port on 127.0.0.1")
	flag.StringVar(&o.data, "data", "", "repository folder (created)")
	flag.StringVar(&o.seedHex, "seed", "", "32-byte ed25519 seed, hex")
	flag.StringVar(&o.shsCap, "shs-cap", mainShsCap, "secret-handshake network key, base64 of 32 bytes")
	flag.StringVar(&o.ebt, "ebt", "on", "on: EBT first, createHistoryStream as fallback; off: createHistoryStream only")
	flag.StringVar(&o.legacyLive, "legacy-live", "off", "sbot.DisableLegacyLiveReplication(false) when on; off (go-sbot's default) re-fetches every 5 minutes")
	flag.UintVar(&o.hops, "hops", 1, "hops of the follow graph to replicate")
	flag.BoolVar(&o.promisc, "promisc", false, "accept connections from any key (go-sbot -promisc); default: only feeds it replicates")
	flag.Parse()
	if o.port <= 0 || o.port > 65535 {
		die("--port must be 1..65535")
	}
	if o.data == "" {
		die("--data DIR is required")
	}
	if len(o.seedHex) != 64 {
		die("--seed must be 64 hex digits")
	}
	if o.ebt != "on" && o.ebt != "off" {
		die("--ebt must be on or off")
	}
	if o.legacyLive != "on" && o.legacyLive != "off" {
		die("--legacy-live must be on or off")
	}
	return o
}

// ---- output ---------------------------------------------------------------

var outMu sync.Mutex

func writeOut(v interface{}) {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"error": "marshal: " + err.Error()})
	}
	outMu.Lock()
	defer outMu.Unlock()
	os.Stdout.Write(append(b, '\n'))
}

// ---- the peer -------------------------------------------------------------

type peer struct {
	bot    *sbot.Sbot
	ctx    context.Context
	cancel context.CancelFunc
	o      options
	rnd    *rand.Rand
}

func (p *peer) feedLog(f refs.FeedRef) (interface {
	Seq() int64
	Get(int64) (interface{}, error)
}, error) {
	tf, err := tfk.FeedFromRef(f)
	if err != nil {
		return nil, err
	}
	b, err := tf.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return p.bot.Users.Get(librarian.Addr(b))
}

// latest is the sequence of the newest stored message of f, 0 when none.
func (p *peer) latest(f refs.FeedRef) (int64, error) {
	l, err := p.feedLog(f)
	if err != nil {
		return 0, err
	}
	return l.Seq() + 1, nil // the sublog counts from 0, -1 when empty
}

func (p *peer) getAt(f refs.FeedRef, seq int64) (refs.Message, error) {
	l, err := p.feedLog(f)
	if err != nil {
		return nil, err
	}
	if seq < 1 || seq > l.Seq()+1 {
		return nil, fmt.Errorf("not found: %s has %d messages", f.String(), l.Seq()+1)
	}
	v, err := l.Get(seq - 1)
	if err != nil {
		return nil, err
	}
	rx, ok := v.(int64)
	if !ok {
		return nil, fmt.Errorf("feed index holds %T", v)
	}
	mv, err := p.bot.ReceiveLog.Get(rx)
	if err != nil {
		return nil, err
	}
	msg, ok := mv.(refs.Message)
	if !ok {
		return nil, fmt.Errorf("receive log holds %T", mv)
	}
	return msg, nil
}

var words = []string{"scuttle", "butt", "gossip", "feed", "peer", "log", "sea", "crab", "pub", "hop"}

func (p *peer) text(size int) string {
	var b strings.Builder
	for b.Len() < size {
		b.WriteString(words[p.rnd.Intn(len(words))])
		b.WriteByte(' ')
	}
	return b.String()[:size]
}

// ---- commands -------------------------------------------------------------

type cmd struct {
	ID        json.RawMessage `json:"id"`
	Cmd       string          `json:"cmd"`
	N         *int            `json:"n"`
	Type      string          `json:"type"`
	Size      *int            `json:"size"`
	Feed      string          `json:"feed"`
	On        *bool           `json:"on"`
	Seq       int64           `json:"seq"`
	TimeoutMs int64           `json:"timeout_ms"`
	Host      string          `json:"host"`
	Port      int             `json:"port"`
	Key       string          `json:"key"`
}

func parseFeed(s string) (refs.FeedRef, error) {
	f, err := refs.ParseFeedRef(s)
	if err != nil {
		return refs.FeedRef{}, fmt.Errorf("feed must be an @….ed25519 id: %w", err)
	}
	return f, nil
}

func (p *peer) handle(c cmd) (interface{}, error) {
	switch c.Cmd {
	case "whoami":
		return map[string]string{"id": p.bot.KeyPair.ID().String()}, nil

	case "publish":
		n := 1
		if c.N != nil {
			n = *c.N
		}
		if n < 0 {
			return nil, errors.New("n must be an integer >= 0")
		}
		typ := c.Type
		if typ == "" {
			typ = "post"
		}
		size := 32
		if c.Size != nil {
			size = *c.Size
		}
		t0 := time.Now()
		var last refs.Message
		for i := 0; i < n; i++ {
			content := map[string]interface{}{"type": typ, "text": fmt.Sprintf("%s #%d", p.text(size), i)}
			msg, err := p.bot.PublishLog.Publish(content)
			if err != nil {
				return nil, fmt.Errorf("publish %d of %d: %w", i+1, n, err)
			}
			last = msg
		}
		seq, err := p.latest(p.bot.KeyPair.ID())
		if err != nil {
			return nil, err
		}
		out := map[string]interface{}{"seq": seq, "n": n, "ms": time.Since(t0).Milliseconds()}
		if last != nil {
			out["key"] = last.Key().String()
		}
		return out, nil

	case "replicate":
		f, err := parseFeed(c.Feed)
		if err != nil {
			return nil, err
		}
		on := c.On == nil || *c.On
		if on {
			p.bot.Replicate(f)
		} else {
			p.bot.DontReplicate(f)
		}
		return map[string]interface{}{"feed": f.String(), "on": on}, nil

	case "follow", "unfollow":
		f, err := parseFeed(c.Feed)
		if err != nil {
			return nil, err
		}
		want := c.Cmd == "follow"
		content := refs.NewContactFollow(f)
		content.Following = want
		msg, err := p.bot.PublishLog.Publish(content)
		if err != nil {
			return nil, err
		}
		// go-ssb's graph replicator re-walks the follow graph 3 s after the receive log
		// last changed; wait for it (up to 10 s) before saying it did not act.
		t0 := time.Now()
		for time.Since(t0) < 10*time.Second {
			if p.bot.Lister().ReplicationList().Has(f) == want {
				return map[string]interface{}{"seq": msg.Seq(), "key": msg.Key().String(),
					"replicating": want, "via": "follow graph", "ms": time.Since(t0).Milliseconds()}, nil
			}
			time.Sleep(50 * time.Millisecond)
		}
		return map[string]interface{}{"seq": msg.Seq(), "key": msg.Key().String(),
			"replicating": !want, "via": "follow graph did not act within 10 s", "ms": time.Since(t0).Milliseconds()}, nil

	case "replicating":
		f, err := parseFeed(c.Feed)
		if err != nil {
			return nil, err
		}
		return map[string]bool{"replicating": p.bot.Lister().ReplicationList().Has(f)}, nil

	case "connect":
		f, err := parseFeed(c.Key)
		if err != nil {
			return nil, err
		}
		if _, ok := p.bot.Network.GetEndpointFor(f); ok {
			return map[string]interface{}{"key": f.String(), "already": true, "ms": 0}, nil
		}
		host := c.Host
		if host == "" {
			host = "127.0.0.1"
		}
		ip := net.ParseIP(host)
		if ip == nil || !ip.IsLoopback() {
			return nil, errors.New("host must be a loopback address")
		}
		addr := netwrap.WrapAddr(&net.TCPAddr{IP: ip, Port: c.Port}, secretstream.Addr{PubKey: f.PubKey()})
		t0 := time.Now()
		if err := p.bot.Network.Connect(p.ctx, addr); err != nil {
			return nil, err
		}
		// Connect returns once the handshake is done; the muxrpc session is set up next.
		for time.Since(t0) < 5*time.Second {
			if _, ok := p.bot.Network.GetEndpointFor(f); ok {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		return map[string]interface{}{"key": f.String(), "ms": time.Since(t0).Milliseconds()}, nil

	case "disconnect":
		f, err := parseFeed(c.Key)
		if err != nil {
			return nil, err
		}
		closed := 0
		for _, e := range p.bot.Network.GetAllEndpoints() {
			if e.ID.Equal(f) {
				e.Endpoint.Terminate()
				closed++
			}
		}
		// The network drops an endpoint only once its serve loop has returned; answer when it
		// has (up to 5 s), so that a following connect dials instead of finding the old one.
		t0 := time.Now()
		for time.Since(t0) < 5*time.Second {
			if _, ok := p.bot.Network.GetEndpointFor(f); !ok {
				return map[string]interface{}{"closed": closed, "ms": time.Since(t0).Milliseconds()}, nil
			}
			time.Sleep(10 * time.Millisecond)
		}
		return nil, fmt.Errorf("terminated %d sessions with %s, still connected after 5 s", closed, f.String())

	case "peers":
		out := []string{}
		for _, e := range p.bot.Network.GetAllEndpoints() {
			out = append(out, e.ID.String())
		}
		return map[string][]string{"peers": out}, nil

	case "latest":
		f, err := parseFeed(c.Feed)
		if err != nil {
			return nil, err
		}
		seq, err := p.latest(f)
		if err != nil {
			return nil, err
		}
		return map[string]int64{"seq": seq}, nil

	case "wait":
		f, err := parseFeed(c.Feed)
		if err != nil {
			return nil, err
		}
		timeout := time.Duration(c.TimeoutMs) * time.Millisecond
		if timeout <= 0 {
			timeout = 30 * time.Second
		}
		t0 := time.Now()
		for {
			seq, err := p.latest(f)
			if err != nil {
				return nil, err
			}
			if seq >= c.Seq {
				return map[string]int64{"ms": time.Since(t0).Milliseconds(), "seq": seq}, nil
			}
			if time.Since(t0) > timeout {
				return nil, fmt.Errorf("timeout: %s at seq %d, not %d, after %d ms", f.String(), seq, c.Seq, timeout.Milliseconds())
			}
			time.Sleep(20 * time.Millisecond)
		}

	case "get":
		f, err := parseFeed(c.Feed)
		if err != nil {
			return nil, err
		}
		msg, err := p.getAt(f, c.Seq)
		if err != nil {
			return nil, err
		}
		return map[string]interface{}{"key": msg.Key().String(), "value": json.RawMessage(msg.ValueContentJSON())}, nil

	default:
		return nil, fmt.Errorf("unknown cmd: %s", c.Cmd)
	}
}

func (p *peer) stop() {
	done := make(chan error, 1)
	go func() {
		p.cancel()
		p.bot.Shutdown()
		done <- p.bot.Close()
	}()
	select {
	case err := <-done:
		if err != nil {
			fmt.Fprintf(os.Stderr, "go-sbot peer: close: %v\n", err)
		}
	case <-time.After(5 * time.Second):
		fmt.Fprintln(os.Stderr, "go-sbot peer: close did not finish in 5 s, exiting anyway")
	}
}

func versions() map[string]string {
	out := map[string]string{"go": strings.TrimPrefix(runtime.Version(), "go")}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			switch d.Path {
			case "github.com/ssbc/go-ssb", "github.com/ssbc/go-muxrpc/v2", "github.com/ssbc/go-secretstream":
				out[d.Path] = d.Version
			}
		}
	}
	return out
}

func main() {
	o := parseArgs()
	seed, err := hex.DecodeString(o.seedHex)
	if err != nil || len(seed) != 32 {
		die("--seed must be 64 hex digits")
	}
	appKey, err := base64.StdEncoding.DecodeString(o.shsCap)
	if err != nil || len(appKey) != 32 {
		die("--shs-cap must be 32 bytes of base64")
	}
	kp, err := ssb.NewKeyPair(bytes.NewReader(seed), refs.RefAlgoFeedSSB1)
	if err != nil {
		die("key pair: %v", err)
	}
	if err := os.MkdirAll(o.data, 0o700); err != nil {
		die("data dir: %v", err)
	}
	// The port must be ours on loopback before the sbot starts (it would listen elsewhere or fail late).
	probe, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", o.port))
	if err != nil {
		die("port %d is not free on 127.0.0.1: %v", o.port, err)
	}
	probe.Close()

	ctx, cancel := context.WithCancel(context.Background())
	logger := kitlog.NewLogfmtLogger(kitlog.NewSyncWriter(os.Stderr))
	logger = kitlog.With(logger, "ts", kitlog.DefaultTimestampUTC)
	bot, err := sbot.New(
		sbot.WithContext(ctx),
		sbot.WithInfo(logger),
		sbot.WithKeyPair(kp),
		sbot.WithRepoPath(o.data),
		sbot.WithAppKey(appKey),
		sbot.WithListenAddr(fmt.Sprintf("127.0.0.1:%d", o.port)),
		sbot.WithHops(o.hops),
		sbot.WithPromisc(o.promisc),
		sbot.DisableEBT(o.ebt == "off"),
		sbot.DisableLegacyLiveReplication(o.legacyLive == "off"),
		// no UNIX socket, no websocket, no UDP advertising or discovery: TCP on loopback only
		sbot.EnableAdvertismentBroadcasts(false),
		sbot.EnableAdvertismentDialing(false),
	)
	if err != nil {
		die("sbot.New: %v", err)
	}
	p := &peer{bot: bot, ctx: ctx, cancel: cancel, o: o, rnd: rand.New(rand.NewSource(int64(seed[0])))}

	go func() {
		for ctx.Err() == nil {
			if err := bot.Network.Serve(ctx); err != nil && ctx.Err() == nil {
				fmt.Fprintf(os.Stderr, "go-sbot peer: serve returned: %v\n", err)
				time.Sleep(100 * time.Millisecond)
			}
		}
	}()
	lis := bot.Network.GetListenAddr()
	bot.WaitUntilIndexesAreSynced()

	writeOut(map[string]interface{}{
		"event":       "ready",
		"id":          kp.ID().String(),
		"port":        o.port,
		"stack":       "go-sbot",
		"ebt":         o.ebt == "on",
		"legacy_live": o.legacyLive == "on",
		"promisc":     o.promisc,
		"replication": map[bool]string{true: "ebt (createHistoryStream fallback)", false: "createHistoryStream"}[o.ebt == "on"],
		"address":     fmt.Sprintf("net:%s~shs:%s", netwrap.GetAddr(lis, "tcp"), base64.StdEncoding.EncodeToString(kp.ID().PubKey())),
		"versions":    versions(),
	})

	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<16), 1<<24)
	for in.Scan() {
		line := strings.TrimSpace(in.Text())
		if line == "" {
			continue
		}
		var c cmd
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			writeOut(map[string]interface{}{"id": nil, "error": "bad JSON: " + err.Error()})
			continue
		}
		id := c.ID
		if len(id) == 0 {
			id = json.RawMessage("null")
		}
		if c.Cmd == "stop" {
			p.stop()
			writeOut(map[string]interface{}{"id": id, "ok": map[string]bool{"stopped": true}})
			os.Exit(0)
		}
		ok, err := p.handle(c)
		if err != nil {
			writeOut(map[string]interface{}{"id": id, "error": err.Error()})
		} else {
			writeOut(map[string]interface{}{"id": id, "ok": ok})
		}
	}
	// stdin closed: the controlling test is gone.
	p.stop()
}
