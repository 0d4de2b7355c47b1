// The capabilities answer: which suites the go-ssb libraries can express, the module versions
// that answer, and for each op they cannot express, why.
package main

const libraryVersions = "go-ssb@v0.2.2-0.20230308230318-d6db27d1852d go-secretstream@v1.2.11-0.20221019175226-fa042d4912fe " +
	"go-muxrpc/v2@v2.0.14-0.20221111190521-10382533750c go-metafeed@v1.1.3 go-ssb-refs@v0.5.2"

var unsupportedOps = map[string]string{
	"muxrpc.endpoint":   "go-muxrpc's RPC layer (muxrpc.Handle) runs on a live connection with goroutines per stream and handlers; it has no step-by-step entry point to drive without I/O",
	"ebt.session":       "go-ssb's EBT state machine lives in plugins/ebt (Replicate handler, internal/statematrix) behind a muxrpc stream and a database; it has no step-by-step entry point",
	"history.query":     "createHistoryStream is served by a whole go-ssb node (sbot with its margaret logs); it is checked live against go-sbot, not through this adapter",
	"groups.po_box_key": "go-ssb implements no P.O. Box keys (envelope-id-based-pobox-curve25519)",
	"groups.validate":   "go-ssb has no validator for the private-group JSON schemas (group/init, group/add-member, group content)",
	// Not an op of its own: box2.unbox given a read_key instead of trial keys.
	"box2.unbox (read_key)": "private/box2 opens an envelope only through trial keys (Boxer.Decrypt); it has no entry point for a message's read key",
}

func capabilities() interface{} {
	return map[string]interface{}{
		"name":        "go-ssb",
		"version":     libraryVersions,
		"suites":      []string{"shs", "boxstream", "feed-legacy", "feed-bendybutt", "muxrpc", "ebt", "box1", "box2", "groups"},
		"unsupported": unsupportedOps,
	}
}
