module github.com/switchyard-dev/switchyard/cmd/switchyard

go 1.26.0

require (
	github.com/spf13/cobra v1.10.2
	github.com/spf13/pflag v1.0.9
	github.com/switchyard-dev/switchyard/pkg v0.0.0
	github.com/switchyard-dev/switchyard/proto v0.0.0
	google.golang.org/grpc v1.85.0
	google.golang.org/protobuf v1.36.12
)

require (
	github.com/inconshreveable/mousetrap v1.1.0 // indirect
	golang.org/x/net v0.60.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/text v0.43.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260928230214-8a89bd6388cc // indirect
)

replace (
	github.com/switchyard-dev/switchyard/pkg => ../../pkg
	github.com/switchyard-dev/switchyard/proto => ../../proto
)
