# Switchyard: an event router on NATS JetStream.
#
# Every target works on a fresh machine with only Go installed; the
# code generators are pinned here and installed from the Go module proxy.

MODULES := proto pkg services/config services/ingest services/ruleengine \
	services/delivery cmd/switchyard

BIN := $(CURDIR)/bin
TOOLS := $(CURDIR)/.tools

BUF_VERSION := v1.75.0
PROTOC_GEN_GO_VERSION := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.0

GO_TEST_FLAGS ?= -count=1 -timeout 10m

# BENCH_FLAGS go to switchyard bench, e.g. BENCH_FLAGS="--events 20000".
BENCH_FLAGS ?=

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets.
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build the switchyard CLI and the four service binaries into ./bin.
	@mkdir -p $(BIN)
	cd cmd/switchyard && go build -o $(BIN)/switchyard .
	cd services/config && go build -o $(BIN)/switchyard-config ./cmd/switchyard-config
	cd services/ingest && go build -o $(BIN)/switchyard-ingest ./cmd/switchyard-ingest
	cd services/ruleengine && go build -o $(BIN)/switchyard-ruleengine ./cmd/switchyard-ruleengine
	cd services/delivery && go build -o $(BIN)/switchyard-delivery ./cmd/switchyard-delivery

# run starts the built binary rather than `go run`, whose exit status is
# 1 whenever the program was stopped by a signal, even after a clean stop.
.PHONY: run
run: ## Run every service in one process on an embedded NATS server (data in ./data).
	@mkdir -p $(BIN)
	cd cmd/switchyard && go build -o $(BIN)/switchyard .
	$(BIN)/switchyard dev

.PHONY: test
test: build ## Run the tests of every module.
	@set -e; for m in $(MODULES); do \
		echo "== go test $$m"; \
		(cd $$m && SWITCHYARD_BIN=$(BIN) go test $(GO_TEST_FLAGS) ./...); \
	done

.PHONY: bench
bench: build ## Run the benchmarks and write docs/benchmarks.md and docs/benchmarks.json.
	cd pkg && go test -run '^$$' -bench . -benchmem -cpu 1 ./pattern/
	cd services/delivery && go test -run '^$$' -bench . -benchtime=3s ./...
	$(BIN)/switchyard bench --mode both --bin $(BIN) --cpuprofile $(BIN)/bench-cpu.pprof \
		--out docs/benchmarks.json --markdown docs/benchmarks.md \
		$(if $(REDIS_URL),--redis $(REDIS_URL)) $(BENCH_FLAGS)

.PHONY: lint
lint: ## Check formatting, go vet and that generated code is current.
	@test -z "$$(gofmt -l $(MODULES))" || { gofmt -l $(MODULES); echo "run gofmt -w on the files above"; exit 1; }
	@set -e; for m in $(MODULES); do echo "== go vet $$m"; (cd $$m && go vet ./...); done
	$(MAKE) proto-check

$(TOOLS)/buf $(TOOLS)/protoc-gen-go $(TOOLS)/protoc-gen-go-grpc:
	GOBIN=$(TOOLS) go install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
	GOBIN=$(TOOLS) go install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	GOBIN=$(TOOLS) go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)

.PHONY: proto
proto: $(TOOLS)/buf $(TOOLS)/protoc-gen-go $(TOOLS)/protoc-gen-go-grpc ## Regenerate the Go code of the protobuf API.
	cd proto && PATH=$(TOOLS):$$PATH buf lint && PATH=$(TOOLS):$$PATH buf generate

.PHONY: proto-check
proto-check: proto ## Fail when the committed generated code differs from what make proto writes.
	git diff --exit-code -- proto

.PHONY: clean
clean: ## Remove built binaries and the dev data folder.
	rm -rf $(BIN) data
