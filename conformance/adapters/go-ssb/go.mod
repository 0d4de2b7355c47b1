module ssb-harness/conformance/adapters/go-ssb

go 1.17

// go-ssb imports go.cryptoscope.co/nocomment, which the module proxy does not serve; see
// nocomment/nocomment.go for what stands in for it.
replace go.cryptoscope.co/nocomment => ./nocomment

require (
	filippo.io/edwards25519 v1.0.0
	github.com/ssbc/go-metafeed v1.1.3
	github.com/ssbc/go-muxrpc/v2 v2.0.14-0.20221111190521-10382533750c
	github.com/ssbc/go-secretstream v1.2.11-0.20221019175226-fa042d4912fe
	github.com/ssbc/go-ssb v0.2.2-0.20230308230318-d6db27d1852d
	github.com/ssbc/go-ssb-refs v0.5.2
	github.com/ssbc/margaret v0.4.4-0.20221101112304-4f5815095ef3
	github.com/zeebo/bencode v1.0.0
	golang.org/x/crypto v0.4.0
)

require (
	github.com/go-logfmt/logfmt v0.5.1 // indirect
	github.com/hashicorp/errwrap v1.1.0 // indirect
	github.com/hashicorp/go-multierror v1.1.1 // indirect
	github.com/json-iterator/go v1.1.12 // indirect
	github.com/karrick/bufpool v1.2.0 // indirect
	github.com/karrick/gopool v1.2.2 // indirect
	github.com/keks/persist v0.0.0-20210520094901-9bdd97c1fad2 // indirect
	github.com/modern-go/concurrent v0.0.0-20180306012644-bacd9c7ef1dd // indirect
	github.com/modern-go/reflect2 v1.0.2 // indirect
	github.com/pkg/errors v0.9.1 // indirect
	github.com/ssbc/go-gabbygrove v0.2.2 // indirect
	github.com/ssbc/go-luigi v0.3.7-0.20230119190114-bd28e676fa99 // indirect
	github.com/ssbc/go-netwrap v0.1.5-0.20221019160355-cd323bb2e29d // indirect
	github.com/ugorji/go/codec v1.2.8 // indirect
	go.cryptoscope.co/nocomment v0.0.0-20210520094614-fb744e81f810 // indirect
	go.mindeco.de v1.12.0 // indirect
	golang.org/x/sys v0.3.0 // indirect
	golang.org/x/text v0.5.0 // indirect
)
