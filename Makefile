# LAFS Sync. The two commands a newcomer needs: `make run` and `make test`.
# Both install what they need (scripts/deps.sh) and reuse Go's build cache,
# so the cgo build of fyne happens once per machine.

SHELL := /bin/bash
GO ?= go
BIN := bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/lafssync/lafssync/internal/version.Version=$(VERSION)
STATICCHECK := $(BIN)/staticcheck
STATICCHECK_VERSION := v0.8.2
ARGS ?=

.PHONY: all deps build lafs lafsync run test test-short bench lint fuzz clean

all: build

# What installs the build and test dependencies (tests of make run set it to true).
DEPS ?= scripts/deps.sh

deps:
	@$(DEPS)

lafs:
	CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/lafs ./app/cmd/lafs

# The tray app links fyne with cgo: the first build on a machine takes
# minutes, so say so and show that it is still going.
lafsync: deps
	@scripts/slow-build.sh "building the tray app ($(BIN)/lafsync): the first time only, a few minutes" \
		$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/lafsync ./app/cmd/lafsync

build: lafs lafsync

# The tray app when there is a display, else the headless daemon; builds
# only what it runs (the daemon needs lafs alone, built in seconds).
run:
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ]; then \
		$(MAKE) --no-print-directory lafsync && \
		echo "make run: starting the tray app ($(BIN)/lafsync)" && \
		exec $(BIN)/lafsync $(ARGS); \
	else \
		echo "make run: no display found: building and running the headless daemon ($(BIN)/lafs daemon)"; \
		$(MAKE) --no-print-directory -s lafs && \
		exec $(BIN)/lafs daemon $(ARGS); \
	fi

# The whole suite, GUI and tray tests included, on a private Xvfb display
# and D-Bus session.
# Then the installers (make test-package) when this machine has their tools
# (scripts/deps.sh package installs them; .ci/run does) and root for dpkg -i.
test: deps
	scripts/with-desktop.sh env LAFSSYNC_GUI_TEST=1 $(GO) test -count=1 -timeout 30m ./...
	@if why=$$(scripts/package-test.sh --can-run); then \
		echo "make test: the installers next (make test-package; minutes the first time)"; \
		VERSION=$(VERSION) scripts/package-test.sh; \
	else \
		echo "make test: installers not tested: $$why"; \
	fi

# Fast inner loop: skips the multi-second streaming tests.
test-short:
	$(GO) test -short ./...

bench:
	scripts/bench.sh
	scripts/bench-tray.sh
	@# Against a real Tahoe-LAFS when one is installed (scripts/tahoe-from-source.sh); skips with a message otherwise.
	scripts/bench-tahoe.sh

$(STATICCHECK):
	GOBIN=$(abspath $(BIN)) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

lint: deps $(STATICCHECK)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt wants to change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...
	@# lafs must build without cgo for every OS we ship it on.
	@for t in windows/amd64 darwin/arm64 linux/arm64; do \
		echo "build lafs for $$t"; \
		CGO_ENABLED=0 GOOS=$${t%/*} GOARCH=$${t#*/} $(GO) build -o /dev/null ./app/cmd/lafs || exit 1; \
	done

# Short, bounded runs of every fuzz target in the repository.
FUZZTIME ?= 10s
fuzz:
	scripts/fuzz.sh $(FUZZTIME)

clean:
	rm -rf $(BIN)

# Installers and archives into dist/ (docs/packaging.md); test-package builds
# them, checks each (dpkg -i/-r, MSI tables, AppImage, Info.plist, signing)
# and builds again to compare byte for byte. Minutes: not part of make test.
.PHONY: package test-package
package: deps
	@$(DEPS) package
	VERSION=$(VERSION) scripts/package.sh
test-package: deps
	@$(DEPS) package
	VERSION=$(VERSION) scripts/package-test.sh

# The icon set: renders icons/src/*.svg into icons/png/, icons/lafssync.ico,
# icons/lafssync.icns and the contact sheet docs/screenshots/icons.png.
# Pure Go (icons/render): needs nothing from apt. See icons/README.md.
.PHONY: icons
icons:
	$(GO) run ./icons/gen
