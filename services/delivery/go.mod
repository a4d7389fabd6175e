module github.com/switchyard-dev/switchyard/services/delivery

go 1.26.0

require (
	github.com/switchyard-dev/switchyard/pkg v0.0.0
	github.com/switchyard-dev/switchyard/proto v0.0.0
)

replace (
	github.com/switchyard-dev/switchyard/pkg => ../../pkg
	github.com/switchyard-dev/switchyard/proto => ../../proto
)
