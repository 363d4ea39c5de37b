# linkd's commands. `make run` starts the service, `make test` checks it.
GO ?= go
BIN := bin/linkd

.PHONY: run build test vet fmt staticcheck fuzz bench crash-test demo

run: build
	./$(BIN) serve

build:
	$(GO) build -o $(BIN) ./cmd/linkd

test: vet
	$(GO) test -race -count=1 -timeout 8m ./...

vet:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

staticcheck:
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

# Each fuzz target for FUZZTIME (default 30s).
FUZZTIME ?= 30s
fuzz:
	@for pkg in ./shortener ./tracker ./emitter ./web; do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$t"; \
	    $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

demo: build
	$(GO) run ./cmd/linkd-demo -linkd $(BIN)

# Load test over loopback against a fresh linkd: the redirect scenarios in
# three interleaved rounds, each row their median; BENCHFLAGS=-quick for a
# short run of one round, BENCHFLAGS="-only hot,unique" for some of them.
# Results also go to bench.json.
bench: build
	$(GO) run ./cmd/linkd-bench -linkd $(BIN) $(BENCHFLAGS)

# SIGKILL a linkd under steady taps ROUNDS times; no answered tap may lose
# its event.
ROUNDS ?= 20
crash-test: build
	$(GO) run ./cmd/linkd-crash -linkd $(BIN) -rounds $(ROUNDS)
