#!/usr/bin/env bash
# build.sh: builds caspio-auth and runs its jobs. Every job sets up what it needs first.
#
#   ./build.sh          build everything (the same as ./build.sh build)
#   ./build.sh demo     run the demo against the built-in Caspio sandbox (no account needed)
#   ./build.sh test     run every test
#   ./build.sh bench    run the benchmarks whose figures BENCHMARKS.md records
set -euo pipefail
cd "$(dirname "$0")"

log() { printf '==> %s\n' "$*" >&2; }

need_go() {
	command -v go >/dev/null || { echo "build.sh: Go 1.26 or newer is required (https://go.dev/dl/)" >&2; exit 1; }
	go mod download
}

need_node() {
	command -v node >/dev/null || { echo "build.sh: Node.js 20 or newer is required (https://nodejs.org)" >&2; exit 1; }
	# The test and benchmark tools (typescript, publint, miniflare, ...) are pinned in
	# package-lock.json; install them when the lock file is newer than the install.
	if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
		log "npm ci (the project's test tools)"
		npm ci --no-audit --no-fund --loglevel=error
	fi
}

need_chromium() {
	# The browser suites drive Debian's Chromium through playwright-core (a browser download
	# does not work everywhere); CHROMIUM_PATH may name another Chromium.
	[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] && return
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		log "apt-get install chromium (for the browser tests)"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
	else
		echo "build.sh: the browser tests need Chromium: install it (Debian: sudo apt-get install chromium) or set CHROMIUM_PATH" >&2
		exit 1
	fi
}

build() {
	need_go
	log "build: Go packages and commands"
	go build ./...
	mkdir -p bin
	go build -trimpath -o bin/ ./cmd/...
	# The JS loader must come from the same Go release as the .wasm it loads.
	cp "$(go env GOROOT)/lib/wasm/wasm_exec.js" wasm_exec.js
	cp wasm_exec.js js/wasm_exec.js
	log "build: js/caspio.wasm (GOOS=js GOARCH=wasm, reproducible)"
	version=$(sed -n "s/^export const VERSION = '\(.*\)';\$/\1/p" js/version.js)
	[ -n "$version" ] || { echo "build.sh: no VERSION in js/version.js" >&2; exit 1; }
	GOOS=js GOARCH=wasm go build -trimpath -buildvcs=false \
		-ldflags="-s -w -buildid= -X main.version=$version" -o js/caspio.wasm ./wasm
}

run_tests() {
	build
	log "test: gofmt and go vet"
	unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './node_modules/*'))
	if [ -n "$unformatted" ]; then
		echo "gofmt would change: $unformatted" >&2
		exit 1
	fi
	go vet ./...
	log "test: go test -race ./... (the fuzz targets run their seed corpus)"
	go test -race -count=1 ./...
	log "test: GOOS=js GOARCH=wasm go test ./wasm/... (under Node, with the toolchain's go_js_wasm_exec)"
	need_node
	PATH="$(go env GOROOT)/lib/wasm:$PATH" GOOS=js GOARCH=wasm go test -count=1 ./wasm/...
	log "test: the npm package: publint, are-the-types-wrong, tsc"
	npm run --silent check:package
	log "test: node --test tests/js/ (the npm package, its CLI and the shared vectors, against the sandbox)"
	node --test --test-concurrency=2 tests/js/
	if ls tests/browser/*.test.js >/dev/null 2>&1; then
		need_chromium
		log "test: node --test tests/browser/ (Chromium through playwright-core)"
		node --test --test-concurrency=1 tests/browser/
	fi
	if ls tests/workers/*.test.js >/dev/null 2>&1; then
		log "test: node --test tests/workers/ (workerd through miniflare)"
		node --test --test-concurrency=1 tests/workers/
	fi
}

demo() {
	build
	# In a terminal the demo stays up with the admin page; in a script or CI it just
	# runs the walkthrough and exits.
	if [ -t 0 ]; then
		log "demo: the walkthrough against the sandbox, then the admin page (Ctrl+C stops it)"
		go run ./cmd/caspio-demo -serve
	else
		log "demo: the walkthrough against the sandbox"
		go run ./cmd/caspio-demo
	fi
}

bench() {
	build
	need_node
	# Every benchmark runs even if one is over its budget; the exit status says whether any was.
	status=0
	log "bench: client restarts with and without a token store"
	go run ./cmd/caspio-bench restarts || status=1
	for bench in size coldstart hotpath browser-start proxy-cpu; do
		[ -f "tests/bench/$bench.mjs" ] || continue
		[ "$bench" = browser-start ] && need_chromium
		log "bench: tests/bench/$bench.mjs"
		node "tests/bench/$bench.mjs" || status=1
	done
	return $status
}

case "${1:-build}" in
build) build ;;
test) run_tests ;;
demo) demo ;;
bench) bench ;;
*)
	echo "usage: ./build.sh [build|demo|test|bench]" >&2
	exit 2
	;;
esac
