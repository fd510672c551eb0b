#!/usr/bin/env bash
# Runs every check and test of zhucun on this machine. Starts PostgreSQL and Redis when
# they are not running, installs them (Debian packages) when they are missing and this
# runs as root, creates the test database, then runs gofmt, go vet and go test -race.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'test.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

[ -x /usr/local/go/bin/go ] && PATH="/usr/local/go/bin:$PATH"
command -v go >/dev/null || die "Go is not installed (https://go.dev/dl/; go.mod names the version)"

as_root() { [ "$(id -u)" = 0 ]; }
apt_install() {
	as_root || die "$* missing and not root: install them (apt-get install $*) or run as root"
	log "installing $*"
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
wait_for() { # wait_for WHAT CMD...: up to 30 s
	local what=$1; shift
	for _ in $(seq 1 60); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
	die "$what did not come up"
}

# --- PostgreSQL -------------------------------------------------------------------
export ZHUCUN_TEST_DATABASE_URL=${ZHUCUN_TEST_DATABASE_URL:-postgres://127.0.0.1:5432/test?sslmode=disable}
pg_up() { pg_isready -q -h 127.0.0.1 -p 5432; }
if ! command -v pg_isready >/dev/null || ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
	pg_up 2>/dev/null || apt_install postgresql postgresql-client
fi
if ! pg_up; then
	log "starting PostgreSQL"
	version=$(ls /etc/postgresql | sort -V | tail -n 1)
	pg_ctlcluster --skip-systemctl-redirect "$version" main start || die "cannot start PostgreSQL $version"
	wait_for PostgreSQL pg_up
fi
if ! psql "$ZHUCUN_TEST_DATABASE_URL" -qAtc 'SELECT 1' >/dev/null 2>&1; then
	# A fresh Debian cluster trusts nobody over TCP: make this user a role, create the
	# test database, and connect over the socket with peer authentication.
	as_root || die "cannot connect to $ZHUCUN_TEST_DATABASE_URL; set ZHUCUN_TEST_DATABASE_URL"
	me=$(id -un)
	su postgres -c "psql -qAtc \"SELECT 1 FROM pg_roles WHERE rolname = '$me'\"" | grep -q 1 ||
		su postgres -c "createuser --superuser $me"
	psql -h /var/run/postgresql -d postgres -qAtc "SELECT 1 FROM pg_database WHERE datname = 'test'" | grep -q 1 ||
		createdb -h /var/run/postgresql test
	export ZHUCUN_TEST_DATABASE_URL="postgres:///test?host=/var/run/postgresql&sslmode=disable"
	psql "$ZHUCUN_TEST_DATABASE_URL" -qAtc 'SELECT 1' >/dev/null || die "cannot connect to the test database"
fi
log "PostgreSQL: $ZHUCUN_TEST_DATABASE_URL"

# --- Redis ------------------------------------------------------------------------
export ZHUCUN_TEST_REDIS_URL=${ZHUCUN_TEST_REDIS_URL:-redis://127.0.0.1:6379/0}
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping | grep -q PONG; }
command -v redis-server >/dev/null && command -v redis-cli >/dev/null || apt_install redis-server redis-tools
if ! redis_up 2>/dev/null; then
	log "starting Redis"
	mkdir -p /tmp/zhucun-redis
	redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
		--dir /tmp/zhucun-redis --logfile /tmp/zhucun-redis/redis.log
	wait_for Redis redis_up
fi
log "Redis: $ZHUCUN_TEST_REDIS_URL"

# --- Chromium (the playground's browser test) ---------------------------------------
# The browser test drives the playground page in Debian's headless Chromium; the fonts
# let its screenshots show Chinese text and the bot's emoji. Under CI a missing
# Chromium fails the test.
[ -x /usr/bin/chromium ] || apt_install chromium
if ! fc-list 2>/dev/null | grep -qi "wenquanyi\|noto sans cjk"; then
	if as_root; then apt_install fonts-wqy-microhei fonts-noto-color-emoji
	else log "no CJK font (apt-get install fonts-wqy-microhei): screenshots show boxes for Chinese text"; fi
fi
log "Chromium: $(/usr/bin/chromium --version 2>/dev/null || echo missing)"

# --- checks and tests -------------------------------------------------------------
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
[ -z "$unformatted" ] || die "gofmt: not formatted: $unformatted"
go vet ./...
export CI=${CI:-1}
# The store's tests are its conformance suite: each runs once per backend, as subtests
# named …/postgres and …/sqlite (records) or …/redis and …/sqlite (conversation state).
# They run verbosely on their own so that the log shows both backends ran.
go test -race -count=1 -timeout 45m "$@" $(go list ./... | grep -v '^zhucun/store$')
store_log=$(mktemp)
if ! go test -race -count=1 -timeout 45m -v "$@" ./store >"$store_log" 2>&1; then
	cat "$store_log"; rm -f "$store_log"; die "store: conformance suite failed"
fi
for backend in postgres sqlite redis; do
	log "store conformance on $backend: $(grep -cE -- "--- PASS: .*/$backend( |\$)" "$store_log") subtests passed"
done
tail -n 1 "$store_log"; rm -f "$store_log"

# --- fuzzing ----------------------------------------------------------------------
# The seed corpora ran above as plain tests; here every target runs for 10,000 inputs
# (one target per go test: -fuzz takes one). A failing input is kept under the
# package's testdata/fuzz, where it becomes a seed.
while read -r pkg target; do
	start=$(date +%s)
	go test -run '^$' -fuzz "^${target}\$" -fuzztime 10000x "$pkg"
	log "fuzz $target: 10000 inputs in $(($(date +%s) - start)) s"
done <<'TARGETS'
./bot FuzzTranslate
./handlers FuzzParseCallback
./handlers FuzzDeepLink
./handlers FuzzCoordinates
./cmd/zhucun FuzzReadRegionsCSV
TARGETS
