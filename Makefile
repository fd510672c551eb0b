.PHONY: test build run

# Every check and test; starts (and if need be installs) PostgreSQL and Redis.
test:
	./scripts/test.sh

build:
	go build -o zhucun ./cmd/zhucun

run: build
	./zhucun serve
