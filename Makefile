# The two commands a new machine needs: `make run` and `make test`.
.PHONY: deps build run test lint format compose-test bench chaos soak clean

deps:
	@scripts/install-deps.sh

build: deps
	swift build

## Runs the whole system on loopback against the sandboxes (Ctrl-C stops everything). `make run ARGS=--fast`
## runs the Datto sandbox a day a minute; `ARGS=--fresh` starts from an empty data directory (a second run otherwise
## keeps the first one's data, reuses its rule and says so).
run: build
	@scripts/run-local.sh $(ARGS)

## Suites that load both cores for minutes (the chaos run, schemathesis, the soak) run after the others, on
## their own, so they do not starve the timing of process tests around them.
HEAVY_TESTS = ChaosTests|OpenAPITests|SoakCommandTests

## Checks the layout (`swift format`, .swift-format), builds everything (executables included: the tests start
## them as processes) and runs every test. The tests' data directories, keys and browser profiles go to one scratch
## folder (TMPDIR) removed at the end, pass or fail: a run leaves nothing behind in /tmp.
test: deps lint
	swift build --build-tests
	@scratch=$$(mktemp -d "$${TMPDIR:-/tmp}/vectis-test-run.XXXXXX") || exit 1; \
	  trap 'rm -rf "$$scratch"' EXIT; trap 'exit 130' INT; trap 'exit 143' TERM; \
	  echo "scratch: $$scratch"; \
	  TMPDIR=$$scratch swift test --skip-build --skip '$(HEAVY_TESTS)' && \
	  TMPDIR=$$scratch swift test --skip-build --filter '$(HEAVY_TESTS)'
	@echo "Console screenshots (CI artifacts): $$(ls .build/console-screenshots 2>/dev/null | tr '\n' ' ')in .build/console-screenshots/"

SWIFT_SOURCES = Services Shared Tests Package.swift

## The layout check: fails on any difference from what `make format` would write.
lint:
	swift format lint --strict --recursive $(SWIFT_SOURCES)

## Rewrites the sources in the house layout (.swift-format: 4 spaces, 140 columns, ordered imports).
format:
	swift format --in-place --recursive $(SWIFT_SOURCES)

## The container deployment for real (podman): builds the release executables and the image, brings compose up with
## the sandboxes, checks the system end to end through its published ports, then the two-shard variant; `down -v`
## at the end. Installs podman and podman-compose when missing. CI runs it after `make test`.
compose-test: deps
	@scripts/compose-test.sh

## Prints the performance figures (release build; docs/performance.md explains each): about 15 minutes. The pipeline's
## figures go to .build/bench/latest.json; each run prints every figure's ratio to the run before it (previous.json).
## Memory is measured for the development build and, when `make compose-test` has built them, the image's executables.
bench: deps
	swift build -c release
	.build/release/vectis-bench bus
	.build/release/vectis-bench reliable
	.build/release/vectis-bench codec
	@mkdir -p .build/bench; if [ -f .build/bench/latest.json ]; then cp .build/bench/latest.json .build/bench/previous.json; fi
	.build/release/vectis-bench pipeline --json .build/bench/latest.json $$([ -f .build/bench/previous.json ] && echo --compare .build/bench/previous.json)
	.build/release/vectis-bench memory
	@if [ -x .build/dist/bin/vectis-rules ]; then .build/release/vectis-bench memory --binaries .build/dist/bin \
	  || echo "the image's executables in .build/dist/bin did not start (older than the sources?): not measured"; \
	  else echo "(make compose-test builds the image's executables in .build/dist/bin; memory then measures those too)"; fi
	.build/release/vectis-bench sync
	.build/release/vectis-bench grid

## The chaos run for longer than CI's bounded one: 20 rounds of kills (about 15 minutes). See docs/reliability.md.
chaos: deps
	swift build --build-tests
	VECTIS_CHAOS_ROUNDS=$${VECTIS_CHAOS_ROUNDS:-20} VECTIS_CHAOS_ONBOARDING_SECONDS=$${VECTIS_CHAOS_ONBOARDING_SECONDS:-60} \
	VECTIS_CHAOS_ROUND_SECONDS=$${VECTIS_CHAOS_ROUND_SECONDS:-30} swift test --skip-build --filter ChaosTests

## The whole system for 10 minutes at a steady rate (release build); prints each service's memory over time.
soak: deps
	swift build -c release
	.build/release/vectis-bench soak --minutes $${SOAK_MINUTES:-10}

clean:
	rm -rf .build .vectis
