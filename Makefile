# The two commands a new machine needs: `make run` and `make test`.
.PHONY: deps build run test bench clean

deps:
	@scripts/install-deps.sh

build: deps
	swift build

## Runs the whole system on loopback against the sandboxes (Ctrl-C stops everything). `make run ARGS=--fast`
## runs the Datto sandbox a day a minute.
run: build
	@scripts/run-local.sh $(ARGS)

## Builds everything (executables included: the tests start them as processes) and runs every test.
test: deps
	swift build --build-tests
	swift test --skip-build

## Prints throughput figures (release build).
bench: deps
	swift build -c release --product vectis-bench
	.build/release/vectis-bench bus
	.build/release/vectis-bench reliable
	.build/release/vectis-bench codec

clean:
	rm -rf .build .vectis
