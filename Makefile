# framekit: `make run` opens the app on the bundled sample, `make test` runs every test.
# Both install missing system packages first (scripts/install-deps.sh, Debian/Ubuntu).

CARGO ?= cargo
SAMPLE := assets/sample.mp4

.PHONY: deps run build release test test-rust lint headless smoke bench sample clean python \
        deb deb-cli install tools

PREFIX ?= /usr/local

deps:
	@./scripts/install-deps.sh

release: deps
	$(CARGO) build --release --locked

run: release
	./target/release/framekit $(SAMPLE)

build: deps
	$(CARGO) build --all-targets --locked

# Lint, the headless build (no GUI crates), the S3 test server (s3s-fs, pinned, into
# target/tools), unit + integration tests (dev profile, one shared target dir), then the GUI smoke test under Xvfb with the same dev binary.
test: deps tools
	$(CARGO) fmt --all --check
	$(CARGO) clippy --all-targets --locked -- -D warnings
	$(CARGO) clippy --locked -p framekit-python -- -D warnings
	./scripts/check-headless.sh
	./scripts/install-s3-server.sh
	$(CARGO) test --locked
	./scripts/python-module.sh
	./scripts/check-install.sh
	./scripts/gui-smoke.sh target/debug/framekit

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --all-targets --locked -- -D warnings
	$(CARGO) clippy --locked -p framekit-python -- -D warnings

# The Python module (bindings/python) built into target/spark-venv, and its pytest suite.
python: deps
	./scripts/python-module.sh

headless: deps
	./scripts/check-headless.sh

smoke: release
	./scripts/gui-smoke.sh target/release/framekit

# The Python module is built in release first so the Spark column can time its in-process
# path; then the Rust benches, then the module against PyAV and decord.
bench: release
	./scripts/bench-python.sh --build-only
	$(CARGO) bench --locked --bench speed
	$(CARGO) bench --locked --bench long_media
	./scripts/install-s3-server.sh
	$(CARGO) bench --locked --bench segments
	./scripts/bench-python.sh

sample:
	./scripts/make-sample.sh

# cargo-deb, for the Debian packages.
tools:
	@command -v cargo-deb >/dev/null 2>&1 || $(CARGO) install cargo-deb --locked --version 3.8.0

# Debian packages: the app (framekit) and the headless command line (framekit-cli).
deb: release tools
	./scripts/package-assets.sh target/release/framekit
	$(CARGO) deb --no-build

deb-cli: release tools
	$(CARGO) build --release --locked --no-default-features
	mkdir -p target/release/headless
	cp target/release/framekit target/release/headless/framekit
	$(CARGO) build --release --locked
	./scripts/package-assets.sh target/release/framekit
	$(CARGO) deb --no-build --variant cli

# Without a package: binary, desktop entry, icons, man page, completions under PREFIX.
install: release
	./scripts/install.sh target/release/framekit $(PREFIX)

clean:
	$(CARGO) clean
