module ssb-harness/conformance/adapters/go-sbot

go 1.17

// go.cryptoscope.co/nocomment is not served by the module proxy; see nocomment/.
replace go.cryptoscope.co/nocomment => ./nocomment

require (
	github.com/ssbc/go-netwrap v0.1.5-0.20221019160355-cd323bb2e29d
	github.com/ssbc/go-secretstream v1.2.11-0.20221019175226-fa042d4912fe
	github.com/ssbc/go-ssb v0.2.2-0.20230308230318-d6db27d1852d
	github.com/ssbc/go-ssb-refs v0.5.2
	github.com/ssbc/margaret v0.4.4-0.20221101112304-4f5815095ef3
	go.mindeco.de v1.12.0
)

require (
	filippo.io/edwards25519 v1.0.0 // indirect
	github.com/RoaringBitmap/roaring v1.2.1 // indirect
	github.com/bits-and-blooms/bitset v1.3.3 // indirect
	github.com/cespare/xxhash v1.1.0 // indirect
	github.com/cespare/xxhash/v2 v2.1.2 // indirect
	github.com/davecgh/go-spew v1.1.1 // indirect
	github.com/dgraph-io/badger/v3 v3.2103.5 // indirect
	github.com/dgraph-io/ristretto v0.1.1 // indirect
	github.com/dgraph-io/sroar v0.0.0-20220527172339-b92b7eaaf6e0 // indirect
	github.com/dustin/go-humanize v1.0.0 // indirect
	github.com/go-kit/kit v0.12.0 // indirect
	github.com/go-logfmt/logfmt v0.5.1 // indirect
	github.com/gogo/protobuf v1.3.2 // indirect
	github.com/golang/glog v1.0.0 // indirect
	github.com/golang/groupcache v0.0.0-20210331224755-41bb18bfe9da // indirect
	github.com/golang/protobuf v1.5.2 // indirect
	github.com/golang/snappy v0.0.4 // indirect
	github.com/google/flatbuffers v22.10.26+incompatible // indirect
	github.com/gorilla/websocket v1.5.0 // indirect
	github.com/hashicorp/errwrap v1.1.0 // indirect
	github.com/hashicorp/go-multierror v1.1.1 // indirect
	github.com/json-iterator/go v1.1.12 // indirect
	github.com/karrick/bufpool v1.2.0 // indirect
	github.com/karrick/gopool v1.2.2 // indirect
	github.com/keks/persist v0.0.0-20210520094901-9bdd97c1fad2 // indirect
	github.com/klauspost/compress v1.15.12 // indirect
	github.com/libp2p/go-reuseport v0.2.0 // indirect
	github.com/machinebox/progress v0.2.0 // indirect
	github.com/modern-go/concurrent v0.0.0-20180306012644-bacd9c7ef1dd // indirect
	github.com/modern-go/reflect2 v1.0.2 // indirect
	github.com/mschoch/smat v0.2.0 // indirect
	github.com/pkg/errors v0.9.1 // indirect
	github.com/rs/cors v1.8.3 // indirect
	github.com/ssbc/go-gabbygrove v0.2.2 // indirect
	github.com/ssbc/go-luigi v0.3.7-0.20230119190114-bd28e676fa99 // indirect
	github.com/ssbc/go-metafeed v1.1.3 // indirect
	github.com/ssbc/go-muxrpc/v2 v2.0.14-0.20221111190521-10382533750c // indirect
	github.com/ssbc/go-ssb-multiserver v0.1.5-0.20221019203850-917ae0e23d57 // indirect
	github.com/ugorji/go/codec v1.2.8 // indirect
	github.com/zeebo/bencode v1.0.0 // indirect
	go.cryptoscope.co/nocomment v0.0.0-20210520094614-fb744e81f810 // indirect
	go.opencensus.io v0.23.0 // indirect
	golang.org/x/crypto v0.4.0 // indirect
	golang.org/x/exp v0.0.0-20221025133541-111beb427cde // indirect
	golang.org/x/net v0.3.0 // indirect
	golang.org/x/sync v0.1.0 // indirect
	golang.org/x/sys v0.3.0 // indirect
	golang.org/x/text v0.5.0 // indirect
	gonum.org/v1/gonum v0.12.0 // indirect
	google.golang.org/protobuf v1.28.1 // indirect
)
