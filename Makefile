# Thin wrapper around CMake: `make run` and `make test` do their own set-up.
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
SECONDS ?= 60
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
DEMO_DB ?= var/demo.db

PREFIX ?= /usr/local
KAM_SHARE = $(DESTDIR)$(PREFIX)/share/kam

.PHONY: all deps build asan run test test-asan fuzz bench crash clean install uninstall

all: build

deps:
	@scripts/install-deps

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS) >/dev/null

asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DKAM_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS) >/dev/null

# The main job on the demo book: create it afresh, run the nightly schedule
# on it (overdue invoices, tiering and health committed, alerts raised), then
# the one-screen summary with the alerts that run raised, and the executive
# report of this quarter as a page to open in a browser.
run: build
	@# the demo is made afresh each time: a new book's maker sets it up, whoever
	@# runs this (replacing a book with staff is an admin's, kam init --force)
	@rm -f $(DEMO_DB) $(DEMO_DB)-lock
	@$(BUILD)/kam --db $(DEMO_DB) init --demo
	@$(BUILD)/kam --db $(DEMO_DB) schedule run nightly
	@$(BUILD)/kam --db $(DEMO_DB) summary
	@$(BUILD)/kam --db $(DEMO_DB) report executive -o var/reports/executive.html

# Every test, in the normal build and again under ASan + UBSan; then the
# fuzz targets, when clang is here.
test: build asan
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j $(JOBS)
	@if command -v clang >/dev/null 2>&1; then FUZZ_SEED=1 $(MAKE) --no-print-directory fuzz; \
	 else echo "fuzz: clang is not installed; skipped"; fi

# Each libFuzzer target of tests/fuzz for SECONDS (make fuzz SECONDS=600),
# two at a time; fails on any crash, leak or timeout (tests/fuzz/run.sh).
# make test runs it with FUZZ_SEED=1: the same path each time, which a longer
# `make fuzz SECONDS=N FUZZ_SEED=1` checks ahead; without it, new paths.
fuzz: deps
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKAM_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_targets >/dev/null
	@tests/fuzz/run.sh $(FUZZ_BUILD) $(SECONDS)

bench: build
	@bench/run

# kill -9 at random moments of big imports, policy commits and kam.tx runs, and
# kam verify after each (tests/e2e/crash.sh, which ctest runs with N=30)
crash: N ?= 1000
crash: CRASH_POLICY_SCALE ?= 5
crash: build
	@N=$(N) CRASH_POLICY_SCALE=$(CRASH_POLICY_SCALE) BUILD_DIR=$(abspath $(BUILD)) bash tests/e2e/crash.sh $(BUILD)/kam .

# kam as an installed program (PREFIX=/usr/local; DESTDIR stages it): the
# program in PREFIX/bin, the shipped project (config/, rules/, scripts/) in
# PREFIX/share/kam, read when no config/kam.yaml is found from the current
# folder up; its kam.yaml keeps each user's book in ~/.local/share/kam/.
install: build
	@install -D -m 755 $(BUILD)/kam $(DESTDIR)$(PREFIX)/bin/kam
	@for f in config/schema.yaml $$(find config/import -name '*.yaml' | sort) $$(find config/demo rules scripts -type f \( -name '*.lua' -o -name '*.md' \) | sort); do \
	   install -D -m 644 $$f $(KAM_SHARE)/$$f || exit 1; done
	@sed 's|^db:.*|db: ~/.local/share/kam/kam.db   # the book of whoever runs kam; --db overrides|' \
	   config/kam.yaml >$(KAM_SHARE)/config/kam.yaml && chmod 644 $(KAM_SHARE)/config/kam.yaml
	@grep -q '^db: ~/' $(KAM_SHARE)/config/kam.yaml || { echo "install: config/kam.yaml has no db: line" >&2; exit 1; }
	@install -D -m 644 README.md $(DESTDIR)$(PREFIX)/share/doc/kam/README.md
	@echo "installed $(DESTDIR)$(PREFIX)/bin/kam and $(KAM_SHARE)/"

uninstall:
	rm -rf $(DESTDIR)$(PREFIX)/bin/kam $(KAM_SHARE) $(DESTDIR)$(PREFIX)/share/doc/kam

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
