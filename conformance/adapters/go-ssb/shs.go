// Suite shs: secret handshake v1, played by go-secretstream's secrethandshake.Client and
// secrethandshake.Server over an in-memory transport that yields the vector's incoming
// messages as one byte stream (the way a TCP peer's bytes arrive) and records each write.
package main

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/ssbc/go-secretstream/secrethandshake"
)

type shsArgs struct {
	NetworkKey      string   `json:"network_key"`
	ClientSeed      string   `json:"client_seed"`
	ServerSeed      string   `json:"server_seed"`
	ClientEphemeral string   `json:"client_ephemeral"`
	ServerEphemeral string   `json:"server_ephemeral"`
	ServerPublic    string   `json:"server_public"`
	AcceptClient    *bool    `json:"accept_client"`
	Incoming        []string `json:"incoming"`
}

// scriptedConn reads the peer's messages as one stream and keeps every write apart.
type scriptedConn struct {
	in     io.Reader
	writes [][]byte
}

func (c *scriptedConn) Read(p []byte) (int, error) { return c.in.Read(p) }
func (c *scriptedConn) Write(p []byte) (int, error) {
	c.writes = append(c.writes, append([]byte(nil), p...))
	return len(p), nil
}

type shsOutcome struct {
	RemotePublic string `json:"remote_public"`
	EncryptKey   string `json:"encrypt_key"`
	EncryptNonce string `json:"encrypt_nonce"`
	DecryptKey   string `json:"decrypt_key"`
	DecryptNonce string `json:"decrypt_nonce"`
}

func outcomeOf(st *secrethandshake.State) shsOutcome {
	ek, en := st.GetBoxstreamEncKeys()
	dk, dn := st.GetBoxstreamDecKeys()
	return shsOutcome{
		RemotePublic: toHex(st.Remote()),
		EncryptKey:   toHex(ek[:]), EncryptNonce: toHex(en[:]),
		DecryptKey: toHex(dk[:]), DecryptNonce: toHex(dn[:]),
	}
}

func shsCommon(a shsArgs, seedHex string) (net []byte, kp *secrethandshake.EdKeyPair, conn *scriptedConn, e *opError) {
	net, e = hexBytes("network_key", a.NetworkKey, 32)
	if e != nil {
		return
	}
	seed, e := hexBytes("seed", seedHex, 32)
	if e != nil {
		return
	}
	priv := ed25519.NewKeyFromSeed(seed)
	kp, err := secrethandshake.NewKeyPair(priv.Public().(ed25519.PublicKey), priv)
	if err != nil {
		e = fail("invalid_args", "secrethandshake.NewKeyPair: %v", err)
		return
	}
	if len(a.Incoming) != 2 {
		e = fail("invalid_args", "incoming needs 2 messages, has %d", len(a.Incoming))
		return
	}
	var stream []byte
	for _, m := range a.Incoming {
		b, e2 := hexBytes("incoming", m, -1)
		if e2 != nil {
			e = e2
			return
		}
		stream = append(stream, b...)
	}
	conn = &scriptedConn{in: bytes.NewReader(stream)}
	return
}

// stepOf names the handshake message an error of the library is about, from the role's view:
// secrethandshake reports a failed check as ErrProtocol (code 0: the challenge, msg1/msg2;
// code 1: the authentication, msg3/msg4) and a short read as ErrProcessing naming the read.
func stepOf(err error, server bool) string {
	msg := err.Error()
	var perr secrethandshake.ErrProtocol
	first := strings.Contains(msg, "receiving challenge")
	if errors.As(err, &perr) {
		first = strings.Contains(msg, "Wrong protocol version")
	}
	switch {
	case server && first:
		return "msg1_rejected"
	case server:
		return "msg3_rejected"
	case first:
		return "msg2_rejected"
	default:
		return "msg4_rejected"
	}
}

func shsClient(raw json.RawMessage) (interface{}, *opError) {
	var a shsArgs
	if e := decodeArgs(raw, &a); e != nil {
		return nil, e
	}
	net, kp, conn, e := shsCommon(a, a.ClientSeed)
	if e != nil {
		return nil, e
	}
	eph, e := hexBytes("client_ephemeral", a.ClientEphemeral, 32)
	if e != nil {
		return nil, e
	}
	serverPub, e := hexBytes("server_public", a.ServerPublic, 32)
	if e != nil {
		return nil, e
	}
	var st *secrethandshake.State
	if err := withRandom(eph, func() (err error) {
		st, err = secrethandshake.NewClientState(net, *kp, serverPub)
		return
	}); err != nil {
		return nil, fail("invalid_args", "NewClientState: %v", err)
	}
	if err := secrethandshake.Client(st, conn); err != nil {
		return nil, fail(stepOf(err, false), "%v", err)
	}
	if len(conn.writes) != 2 {
		return nil, fail("invalid_args", "client wrote %d messages, want 2", len(conn.writes))
	}
	return map[string]interface{}{
		"msg1": toHex(conn.writes[0]), "msg3": toHex(conn.writes[1]), "outcome": outcomeOf(st),
	}, nil
}

func shsServer(raw json.RawMessage) (interface{}, *opError) {
	var a shsArgs
	if e := decodeArgs(raw, &a); e != nil {
		return nil, e
	}
	net, kp, conn, e := shsCommon(a, a.ServerSeed)
	if e != nil {
		return nil, e
	}
	eph, e := hexBytes("server_ephemeral", a.ServerEphemeral, 32)
	if e != nil {
		return nil, e
	}
	var st *secrethandshake.State
	if err := withRandom(eph, func() (err error) {
		st, err = secrethandshake.NewServerState(net, *kp)
		return
	}); err != nil {
		return nil, fail("invalid_args", "NewServerState: %v", err)
	}
	// secrethandshake.Server has no authorisation hook: it writes msg4 to every client whose
	// msg3 verifies, and go-ssb decides whether to keep the peer only after the handshake.
	// accept_client therefore cannot change what the library does; see DEVIATIONS.md.
	if err := secrethandshake.Server(st, conn); err != nil {
		return nil, fail(stepOf(err, true), "%v", err)
	}
	if len(conn.writes) != 2 {
		return nil, fail("invalid_args", "server wrote %d messages, want 2", len(conn.writes))
	}
	return map[string]interface{}{
		"msg2": toHex(conn.writes[0]), "msg4": toHex(conn.writes[1]), "outcome": outcomeOf(st),
	}, nil
}
