# bunc: `make` builds bin/bunc (one self-contained executable).
# `make test` installs what the tests need (when missing) and runs the whole suite.

PREFIX ?= /usr/local
BUN    := node_modules/.bin/bun
CC     ?= gcc
# bunc-init and bunc-child are built with musl when it is there: 21 kB and 71 kB instead of 690 kB
# and 724 kB (every create copies them into memfds), ~36 kB resident per pause. musl's headers
# lack linux/ and asm/: those come from the system's, after musl's own.
CC_INIT ?= $(shell command -v musl-gcc 2>/dev/null || echo $(CC))
MUSL_KERNEL_HEADERS := $(if $(findstring musl,$(CC_INIT)),-idirafter /usr/include -idirafter /usr/include/$(shell gcc -dumpmachine))
CFLAGS_SHIM := -O2 -g0 -fPIC -shared -Wall -Wextra -Wno-unused-parameter -fvisibility=hidden -D_GNU_SOURCE
CFLAGS_INIT := -Os -g0 -static -Wall -Wextra -D_GNU_SOURCE -s
VERSION := $(shell node -p 'require("./package.json").version' 2>/dev/null || echo 0.0.0)
COMMIT  := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)

# A compiled Bun program would otherwise read bunfig.toml (preload scripts!) and .env from the
# directory it is started in: bunc runs as root, so none of that. A high JIT threshold suits a
# program that lives for milliseconds (measured: -5 ms CPU per run, fewer compiler-thread stalls).
# ESM with --splitting: each command's code is its own chunk, loaded by main.ts's import() only
# when that command runs (measured: -1.7 ms on every command, e.g. `state`, against one bundle).
COMPILE_FLAGS := --no-compile-autoload-bunfig --no-compile-autoload-dotenv --no-compile-autoload-tsconfig \
  --no-compile-autoload-package-json --compile-jit-policy=100

SHIM_SRC := native/shim.c native/ttyproxy.c native/plan.c native/util.c
CHILD_SRC := native/child_main.c native/child.c native/rootfs.c native/copyup.c native/hooks.c native/terminal.c native/plan.c native/util.c
CFLAGS_CHILD := -O2 -g0 -static -Wall -Wextra -Wno-unused-parameter -D_GNU_SOURCE -s
SHIM_HDR := $(wildcard native/*.h)
TS_SRC   := $(shell find src -name '*.ts')

.PHONY: all deps test test-vm typecheck install clean bench demo

all: bin/bunc

node_modules/.installed: package.json
	npm install --no-audit --no-fund
	touch $@

build/shim.so: $(SHIM_SRC) $(SHIM_HDR)
	@mkdir -p build
	$(CC) $(CFLAGS_SHIM) -o $@ $(SHIM_SRC) -lpthread

# The container setup program, run from a sealed memfd right after clone (native/child_main.c).
build/bunc-child: $(CHILD_SRC) $(SHIM_HDR)
	@mkdir -p build
	$(CC_INIT) $(CFLAGS_CHILD) $(MUSL_KERNEL_HEADERS) -o $@ $(CHILD_SRC)

build/bunc-init: native/init.c
	@mkdir -p build
	$(CC_INIT) $(CFLAGS_INIT) $(MUSL_KERNEL_HEADERS) -o $@ native/init.c

# Syscall name tables for the seccomp compiler, generated from the kernel's UAPI headers
# (committed too, so a checkout without make can run the unit tests; a test compares them).
SYSCALL_HEADERS := $(wildcard $(addprefix /usr/include/,x86_64-linux-gnu/asm/unistd_64.h x86_64-linux-gnu/asm/unistd_32.h x86_64-linux-gnu/asm/unistd_x32.h x86_64-linux-gnu/asm/unistd.h asm-generic/unistd.h linux/net.h linux/ipc.h linux/version.h))

src/linux/seccomp/syscalls.gen.ts: scripts/gen-syscalls.ts $(SYSCALL_HEADERS) | node_modules/.installed
	$(BUN) scripts/gen-syscalls.ts

# Rarely needed libraries, bundled apart and embedded as files (src/embedded.ts says why).
build/dbus-next.cjs: node_modules/.installed
	@mkdir -p build
	$(BUN) build --target=bun --format=cjs --minify node_modules/@jellybrick/dbus-next/dist/index.cjs --outfile $@

build/yaml.cjs: node_modules/.installed
	@mkdir -p build
	$(BUN) build --target=bun --format=cjs --minify node_modules/yaml/dist/index.js --outfile $@

bin/bunc: node_modules/.installed src/linux/seccomp/syscalls.gen.ts build/dbus-next.cjs build/yaml.cjs build/shim.so build/bunc-init build/bunc-child $(TS_SRC)
	@mkdir -p bin
	$(BUN) build --compile --bytecode --minify --sourcemap=none $(COMPILE_FLAGS) --format=esm --splitting \
	  --define BUNC_VERSION='"$(VERSION)"' --define BUNC_COMMIT='"$(COMMIT)"' \
	  src/main.ts --outfile $@.tmp
	mv -f $@.tmp $@  # atomic: tests running meanwhile never see bin/bunc missing

install: bin/bunc
	install -D -m 0755 bin/bunc $(DESTDIR)$(PREFIX)/bin/bunc

# Every Debian package the build and the whole test suite use, installed when missing (CI and a
# newcomer's first `make test` start from a bare Debian machine).
APT_PACKAGES := gcc make libc6-dev musl-tools busybox-static dbus-daemon tar gzip coreutils util-linux mount \
  git ca-certificates containerd containernetworking-plugins iproute2 podman conmon catatonit uidmap \
  qemu-system-x86 debootstrap e2fsprogs xz-utils curl

deps:
	@missing=""; \
	for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed$$' || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

# The whole suite: unit and integration tests (real containers, containerd, podman), then the
# cgroup v2 + systemd node in the VM rig beside the project (../shared/vmrig), when it is there.
test: deps all typecheck
	$(BUN) test --timeout 60000
	$(MAKE) test-vm

VMRIG ?= ../shared/vmrig
test-vm: all
	@if [ -x $(VMRIG)/run.sh ]; then \
	  $(VMRIG)/run.sh --timeout 1500 --share . test/vm/cgroup2.sh && \
	  $(VMRIG)/run.sh --timeout 900 --share . test/vm/pod.sh && VMRIG=$(VMRIG) test/vm/clients.sh; \
	else echo "test-vm: $(VMRIG)/run.sh not found: the cgroup v2 + systemd suites were not run"; fi

# TypeScript's own check of the whole tree (bun only strips types).
typecheck: node_modules/.installed
	node_modules/.bin/tsc --noEmit -p .

demo: all
	scripts/demo.sh

# Side by side with runc and crun (installs them from Debian if missing); writes bench/RESULTS.md.
bench: all
	$(BUN) bench/run.ts $(BENCH_ARGS)

clean:
	rm -rf bin build
