# netlab: the targets CI and developers run. 'make test' is the one test command.
GO      ?= go
PKGS    := ./...
BIN     := bin/netlab

.PHONY: run test unit lint fmt vet tidy-check build bench fuzz clean docs docs-img

run: build
	./$(BIN) compare

build:
	$(GO) build -buildvcs=auto -o $(BIN) ./cmd/netlab

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

# docs reruns every `$ netlab ...` command in docs/ and pastes its fresh output
# under it (keeping only the parts each page showed), then runs the docs tests:
# a prose figure that no longer comes out of the run is named, to be reread.
# WHOLE=1 pastes a whole fresh output where a page's cut no longer fits it.
docs:
	$(GO) test -count=1 -run '^TestDocsCommandsRun$$' ./cmd/netlab -args -update $(if $(WHOLE),-whole)
	$(GO) test -count=1 -run '^TestDocs' ./cmd/netlab

# docs-img redraws the charts the walkthroughs show (docs/img/) from fresh
# runs of the labs with their defaults (about two minutes).
docs-img: build
	rm -rf docs/img && mkdir -p docs/img
	./$(BIN) echo --transports all --count 200 --plot docs/img >/dev/null
	./$(BIN) compare --plot docs/img >/dev/null
	./$(BIN) push --plot docs/img >/dev/null
	./$(BIN) loss --plot docs/img >/dev/null
	./$(BIN) loss streams --plot docs/img >/dev/null
	./$(BIN) missed --plot docs/img >/dev/null
	./$(BIN) events --plot docs/img >/dev/null
	./$(BIN) cluster demo --adapter nats --plot docs/img >/dev/null

bench:
	$(GO) test -run '^$$' -bench . -benchtime 2000x $(PKGS)

# fuzz runs every fuzz target for FUZZTIME each (the seed corpora also run
# in 'make test' as ordinary tests). Go 1.26's fuzz coordinator can end a
# run with a bare "context deadline exceeded" when FUZZTIME is up and no
# input failed (golang/go#75804, fixed in Go 1.27): that is said and
# passed over; a failing input (written to testdata/fuzz) stops the run.
FUZZTIME ?= 20s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "== $$pkg $$f"; \
			out=$$($(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg 2>&1); rc=$$?; \
			echo "$$out" | grep -v '^fuzz: elapsed'; \
			if [ $$rc -ne 0 ]; then \
				if echo "$$out" | grep -q 'Failing input written to' || ! echo "$$out" | grep -qx '    context deadline exceeded'; then exit 1; fi; \
				echo "   (no failing input: the Go 1.26 fuzz coordinator's deadline race, golang/go#75804; not a finding)"; \
			fi; \
		done; \
	done

clean:
	rm -rf bin
