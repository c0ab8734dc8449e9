# framekit: `make run` opens the app on the bundled sample, `make test` runs every test.
# Both install missing system packages first (scripts/install-deps.sh, Debian/Ubuntu).

CARGO ?= cargo
SAMPLE := assets/sample.mp4

.PHONY: deps run build release test test-rust lint headless smoke bench sample clean

deps:
	@./scripts/install-deps.sh

release: deps
	$(CARGO) build --release --locked

run: release
	./target/release/framekit $(SAMPLE)

build: deps
	$(CARGO) build --all-targets --locked

# Lint, the headless build (no GUI crates), unit + integration tests (dev profile, one shared
# target dir), then the GUI smoke test under Xvfb with the same dev binary.
test: deps
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets --locked -- -D warnings
	./scripts/check-headless.sh
	$(CARGO) test --locked
	./scripts/gui-smoke.sh target/debug/framekit

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets --locked -- -D warnings

headless: deps
	./scripts/check-headless.sh

smoke: release
	./scripts/gui-smoke.sh target/release/framekit

bench: release
	$(CARGO) bench --locked --bench speed

sample:
	./scripts/make-sample.sh

clean:
	$(CARGO) clean
