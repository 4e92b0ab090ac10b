# netlab: the targets CI and developers run. 'make test' is the one test command.
GO      ?= go
PKGS    := ./...
BIN     := bin/netlab

.PHONY: run test unit lint fmt vet tidy-check build bench fuzz clean

run: build
	./$(BIN) echo --transports tcp,udp

build:
	$(GO) build -o $(BIN) ./cmd/netlab

test: lint unit

unit:
	$(GO) test -race -count=1 -timeout 15m $(PKGS)

lint: fmt vet tidy-check

fmt:
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

tidy-check:
	@$(GO) mod tidy -diff >/dev/null || { echo "go.mod/go.sum are not tidy: run 'go mod tidy' and commit"; $(GO) mod tidy -diff; exit 1; }

bench:
	$(GO) test -run '^$$' -bench . -benchtime 2000x $(PKGS)

clean:
	rm -rf bin
