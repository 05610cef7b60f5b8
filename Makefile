# dmawatch — see README.md. `make help` lists the targets.

ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
CLANG ?= clang
BPFTOOL ?= bpftool
LLVM_STRIP ?= llvm-strip
CC ?= cc
# Downloads and builds of the lab (guest kernels, apt lists, build roots,
# test modules) are kept by content in CACHE, shared by every clone on the
# machine (tests/lab/cache.sh); the build output goes to BUILD. Both are the
# build's own and safe to delete.
XDG_CACHE_HOME ?= $(HOME)/.cache
DMAWATCH_CACHE ?= $(XDG_CACHE_HOME)/dmawatch
CACHE := $(DMAWATCH_CACHE)
export DMAWATCH_CACHE
BUILD ?= $(CURDIR)/build
# Guest kernels of the lab: Debian 6.1 (bookworm), 6.12 (bookworm-backports)
# and 7.3 (trixie-backports).
KERNELS ?= 6.1 6.12 7.3
KERNEL ?= 6.12
# The lab's own kernels: Debian's linux-source-6.12 with
# tests/lab/kernel/fei.config (CONFIG_FUNCTION_ERROR_INJECTION, which no
# Debian kernel has), where enforce --deny can be tested; and the same with
# kernel/dyn.config (CONFIG_SWIOTLB_DYNAMIC, nor that), where the pool
# grows. Built once and cached (tests/lab/build-kernel.sh). Only
# FEI_SCENARIOS and DYN_SCENARIOS run on them.
FEI_KERNEL ?= 6.12-fei
FEI_SCENARIOS ?= enforce
DYN_KERNEL ?= 6.12-dyn
DYN_SCENARIOS ?= pool-grow
# The kernel whose guest a real Prometheus scrapes while the shipped alert
# rules fire and resolve (tests/prometheus/alerts.sh; 3 minutes a kernel).
PROM_KERNELS ?= 6.12

VMLINUX_H := vmlinux/$(ARCH)/vmlinux.h
VMLINUX_FROM ?= 6.12

# A family is its files side by side in family/ (X.bpf.c, X.h shared by
# both sides, X.c); the rest of the loader is user/, a folder per role.
# Objects keep their source's path under $(BUILD)/obj (and static/), so
# family/enforce.c and user/enforce/enforce.c are two objects.
BPF_SRCS := $(sort $(wildcard family/*.bpf.c))
BPF_OBJS := $(BPF_SRCS:family/%.bpf.c=$(BUILD)/bpf/%.bpf.o)
SKELS := $(BPF_SRCS:family/%.bpf.c=$(BUILD)/bpf/%.skel.h)
USER_SRCS := $(sort $(filter-out %.bpf.c,$(wildcard family/*.c user/*.c user/*/*.c)))
# Everything but main.c also links into the unit tests.
LIB_SRCS := $(filter-out user/main.c,$(USER_SRCS))
USER_OBJS := $(USER_SRCS:%.c=$(BUILD)/obj/%.o)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
STATIC_OBJS := $(USER_SRCS:%.c=$(BUILD)/static/%.o)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo unknown)
# -Werror for the tree's own builds; a package build (debian/rules) clears
# it, so that the next compiler's new warning does not fail it.
WERROR ?= -Werror
WARN := -Wall -Wextra $(WERROR) -Wshadow -Wformat=2 -Wundef
# Every function outside a file is declared in a header (not for the
# tests' and fuzzers' own files).
LOADER_WARN := -Wmissing-prototypes
CFLAGS ?= -g -O2
ALL_CFLAGS = $(CPPFLAGS) $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE -I. -Iuser -I$(BUILD)/bpf \
	-DDMAWATCH_VERSION='"$(VERSION)"'
LIBS := -lbpf -lelf -lz -lncursesw -ltinfo
STATIC_LIBS := -static -lbpf -lelf -lz -lzstd -lncursesw -ltinfo
# -fdebug-prefix-map: BTF line info names the sources relative to the
# tree, so the same sources give the same objects wherever they are built
# (the package's copy, a clone): the id --version prints depends on it.
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	-fdebug-prefix-map=$(CURDIR)=. -Ivmlinux/$(ARCH)

.PHONY: FORCE install uninstall release deb deb-test fuzz sanitize san-build unit-bins valgrind
.PHONY: all static lint deps deps-lint deps-build deps-lab deps-prom deps-pkg kernels lab-module initramfs fei-initramfs dyn-initramfs test unit lab-test lab demo \
	bench bench-snapshot lab-soak lab-endure vmlinux-h clean distclean clean-cache help prometheus-test \
	prometheus-alerts top-keys
.DELETE_ON_ERROR:

all: $(BUILD)/dmawatch $(BUILD)/dmatop

help:
	@echo 'make            build dmawatch and dmatop into $(BUILD)/'
	@echo 'make deps       install the Debian packages the project needs'
	@echo 'make test       host tests, sanitizers, fuzzing, the lab on $(KERNELS), $(FEI_KERNEL) and $(DYN_KERNEL), the package'
	@echo 'make fei-initramfs  the lab kernel with FUNCTION_ERROR_INJECTION ($(FEI_KERNEL)), for enforce --deny'
	@echo 'make dyn-initramfs  the same with SWIOTLB_DYNAMIC ($(DYN_KERNEL)): a pool that grows'
	@echo 'make unit       unit tests only (no kernel needed)'
	@echo 'make demo       boot a lab guest with bounce traffic under dmatop'
	@echo 'make lab        a shell in a bouncing lab guest (KERNEL=$(KERNEL))'
	@echo 'make top-keys   drive dmatop in a lab guest through its console under tmux'
	@echo 'make bench      probe overhead benchmark in the lab; more rounds, fewer modes:'
	@echo '                 BENCH_GUEST_ENV='\''BENCH_ROUNDS=21 BENCH_MODES="none tracefs floor default"'\'' make bench'
	@echo 'make lab-soak   boot the live-patching soak SOAK_BOOTS times per kernel, count crashes'
	@echo 'make lab-endure exporter and dmatop under mixed traffic for ENDURE_MINUTES (30) per kernel'
	@echo 'make prometheus-test  promtool, alert-rule tests, node_exporter on loopback'
	@echo 'make prometheus-alerts  a real Prometheus sees the alert rules fire on a lab guest ($(PROM_KERNELS))'
	@echo 'make vmlinux-h  regenerate $(VMLINUX_H) from the $(VMLINUX_FROM) guest kernel'
	@echo 'make fuzz       each libFuzzer target FUZZ_SECONDS=$(FUZZ_SECONDS) s'
	@echo 'make sanitize   unit and command-line tests under ASan+UBSan'
	@echo 'make valgrind   unit and command-line tests under memcheck'
	@echo 'make install    install under PREFIX=$(PREFIX) (DESTDIR for staging)'
	@echo 'make release    the static binary to copy into a guest, with SHA256SUMS'
	@echo 'make deb        the Debian package, built with dpkg-buildpackage'
	@echo 'make deb-test   build the package, install and remove it in a fresh Debian 12 root'

# ---- packages -------------------------------------------------------------

# What building and the unit tests need; what the QEMU lab needs (guest
# kernels come through a private apt configuration, trixie's module build
# root through mmdebstrap); what the Prometheus checks need.
DEB_BUILD := make gcc libc6-dev clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev \
	libzstd-dev pkg-config libncurses-dev libcmocka-dev jq
DEB_LAB := qemu-system-x86 qemu-utils busybox-static cpio kmod xz-utils zstd gzip file \
	dwarves debian-archive-keyring apt ca-certificates mmdebstrap util-linux tmux jq curl \
	flex bison bc libssl-dev libelf-dev
DEB_PROM := prometheus prometheus-node-exporter

DEB_PKG := debhelper lintian dpkg-dev mmdebstrap debian-archive-keyring
DEB_LINT := shellcheck clang-format git

deps: deps-lint deps-build deps-lab deps-prom deps-pkg
deps-lint: PACKAGES = $(DEB_LINT)
deps-build: PACKAGES = $(DEB_BUILD)
deps-lab: PACKAGES = $(DEB_LAB)
deps-prom: PACKAGES = $(DEB_PROM)
deps-pkg: PACKAGES = $(DEB_PKG)
# Only calls apt-get when something is missing, so it is cheap to depend on.
deps-lint deps-build deps-lab deps-prom deps-pkg:
	@missing=$$(for p in $(PACKAGES); do \
		dpkg-query -W -f='$${db:Status-Abbrev}\n' $$p 2>/dev/null | grep -q '^ii' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		echo "deps: installing$$(echo $$missing | sed 's/^/ /')"; \
		if [ "$$(id -u)" != 0 ]; then \
			echo "deps: need root to install packages (sudo make deps)" >&2; exit 1; \
		fi; \
		apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# ---- BPF and the loader ---------------------------------------------------

# Every object's header dependencies come from the compiler (-MMD -MP, the
# .d files beside the objects), so a header change rebuilds exactly the
# objects that include it, BPF ones included.
DEPFLAGS = -MMD -MP -MF $(@:.o=.d)
$(BUILD)/bpf/%.bpf.o: family/%.bpf.c $(VMLINUX_H) | $(BUILD)/bpf
	$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -c $< -o $@
	$(LLVM_STRIP) -g $@

.SECONDARY: $(BPF_OBJS) $(SKELS)
$(BUILD)/bpf/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

# The skeletons are generated headers: made before any user object, which
# the .d files then tie to the ones it includes.
$(BUILD)/obj/%.o: %.c | $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LOADER_WARN) $(DEPFLAGS) -c $< -o $@

$(BUILD)/static/%.o: %.c | $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LOADER_WARN) $(DEPFLAGS) -c $< -o $@

-include $(shell find $(BUILD)/bpf $(BUILD)/obj $(BUILD)/static $(BUILD)/tests -name '*.d' 2>/dev/null)

# --version names the BPF programs built in (a hash of the objects): the
# package, the release binary and the lab's static one prove they carry
# the same programs by printing the same id.
BPF_ID = $$(cat $(BPF_OBJS) | sha256sum | cut -c1-12)
$(BUILD)/obj/user/main.o $(BUILD)/static/user/main.o: $(BPF_OBJS)
$(BUILD)/obj/user/main.o $(BUILD)/static/user/main.o: CPPFLAGS += -DDMAWATCH_BPF_ID='"'"$(BPF_ID)"'"'
# ... and the commit (VERSION): in a build directory kept across commits,
# main.o is rebuilt when that changes too, not only when main.c does.
$(BUILD)/version: FORCE
	@mkdir -p $(@D); echo '$(VERSION)' | cmp -s - $@ 2> /dev/null || echo '$(VERSION)' > $@
$(BUILD)/obj/user/main.o $(BUILD)/static/user/main.o: $(BUILD)/version

$(BUILD)/dmawatch: $(USER_OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/dmatop: $(BUILD)/dmawatch
	ln -sf dmawatch $@

# The lab guests have no libraries: they get a static build of the same code.
static: $(BUILD)/static/dmawatch
$(BUILD)/static/dmawatch: $(STATIC_OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(STATIC_LIBS)

$(BUILD)/bpf $(BUILD)/tests $(BUILD)/lab:
	mkdir -p $@

vmlinux-h: $(BUILD)/lab/$(VMLINUX_FROM)/kernel.env
	. $< && vmlinux/gen-vmlinux-h.sh "$$VMLINUZ" "$$IMAGE_PACKAGE=$$PKG_VERSION" $(VMLINUX_H)

# ---- unit tests -----------------------------------------------------------

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS) | $(BUILD)/tests
	$(CC) $(ALL_CFLAGS) -MMD -MP -MF $@.d -o $@ $< $(LIB_OBJS) $(LDFLAGS_$*) \
		-lcmocka $(LIBS)

# The output of a fabricated snapshot, rendered by the loader's own code
# (tests/prometheus/sample.c): promtool's input, and the text, JSON and
# metrics tests/unit/test-output.sh holds byte-identical.
$(BUILD)/tests/prom-sample: tests/prometheus/sample.c $(LIB_OBJS) | $(BUILD)/tests
	$(CC) $(ALL_CFLAGS) -MMD -MP -MF $@.d -o $@ $< $(LIB_OBJS) $(LIBS)

# Snapshot handling per tick of export and dmatop, rows in use against
# whole-struct copies (not part of make test): make bench-snapshot.
$(BUILD)/tests/snapshot-ticks: tests/bench/snapshot_ticks.c $(LIB_OBJS) | $(BUILD)/tests
	$(CC) $(ALL_CFLAGS) -MMD -MP -MF $@.d -o $@ $< $(LIB_OBJS) $(LIBS)
bench-snapshot: $(BUILD)/tests/snapshot-ticks
	@$<

# test_render hands prom_render_text() a stream that fails, and counts closes.
LDFLAGS_test_render := -Wl,--wrap=open_memstream -Wl,--wrap=fclose
LDFLAGS_test_http := -lpthread

# Host tests that are scripts: the lab's cache and console checks, the
# command line, the build's dependencies, diagnose on the corpus of real
# reports and on a 100 MiB log.
HOST_TESTS = tests/lab/test-cache.sh; tests/lab/test-console.sh; \
	tests/unit/test-cli.sh $(BUILD); tests/unit/test-build-deps.sh $(BUILD); \
	tests/unit/test-completion.sh $(BUILD); tests/unit/test-unprivileged.sh $(BUILD); \
	tests/diagnose/run-corpus.sh $(BUILD); tests/diagnose/test-log-size.sh $(BUILD); \
	tests/unit/test-output.sh $(BUILD)

unit: deps-build all $(UNIT_BINS) $(BUILD)/tests/prom-sample
	@tests/run-tap.sh unit $(UNIT_BINS) -- sh -c '$(HOST_TESTS)'

# The fast tier, before anything is built: shellcheck on every shell script,
# clang-format (.clang-format) on every C file (tests/lint.sh). The
# compiler's own checks (WARN) run in every build.
lint: deps-lint
	@tests/run-tap.sh lint -- tests/lint.sh $(BUILD)

# ---- fuzzing and sanitizers -------------------------------------------------

# libFuzzer targets (clang -fsanitize=fuzzer,address,undefined), one per
# parser of outside text, each linked with just the sources it exercises.
# make fuzz runs each FUZZ_SECONDS from its seed corpus (tests/fuzz/corpus,
# copied: what the fuzzer finds stays in the build); make test runs each
# FUZZ_TEST_SECONDS.
FUZZ_TARGETS := json ksyms http numbers prom_label diag diag_log
FUZZ_SRCS_json := user/out/json.c
FUZZ_SRCS_ksyms := user/engine/ksyms.c
FUZZ_SRCS_http := user/out/http.c user/util.c
FUZZ_SRCS_numbers := user/out/http.c user/util.c
FUZZ_SRCS_prom_label := user/out/promtext.c user/engine/snapshot.c
FUZZ_LIBS_prom_label := -lbpf
FUZZ_SRCS_diag := $(addprefix user/diagnose/,diag_collect.c diag_log.c diag_log_match.c \
	diag_log_refusal.c diag_rules.c diag_rules_log.c diag_finding.c diag_remedy.c bundle.c) \
	user/cc.c user/util.c user/enforce/enforce_disk.c
FUZZ_SRCS_diag_log := $(FUZZ_SRCS_diag)
FUZZ_BINS := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-std=gnu11 -D_GNU_SOURCE -I. -Iuser -I$(BUILD)/bpf $(WARN)
FUZZ_SECONDS ?= 300
FUZZ_TEST_SECONDS ?= 20

.SECONDEXPANSION:
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $$(FUZZ_SRCS_$$*) | $(SKELS)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_SRCS_$*) -lm $(FUZZ_LIBS_$*)

FUZZ_CMD = tests/fuzz/run.sh $(BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)
fuzz: deps-build $(FUZZ_BINS)
	@tests/run-tap.sh fuzz -- $(FUZZ_CMD)

# The unit tests and the host-side command-line tests again, built with
# ASan and UBSan (clang) in their own build directory: any report fails
# them. make valgrind runs the unit tests and the command line under
# memcheck.
SAN_BUILD := $(BUILD)/san
SAN_FLAGS := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all
SAN_UNIT_BINS := $(UNIT_BINS:$(BUILD)/%=$(SAN_BUILD)/%)
unit-bins: all $(UNIT_BINS)
san-build: deps-build
	@$(MAKE) --no-print-directory -s BUILD=$(SAN_BUILD) CC=$(CLANG) CFLAGS="$(SAN_FLAGS)" \
		LDFLAGS="$(SAN_FLAGS)" unit-bins
SANITIZE_CMD = ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	tests/run-tap.sh sanitized $(SAN_UNIT_BINS) -- tests/unit/test-cli.sh $(SAN_BUILD)
sanitize: san-build
	@tests/run-tap.sh sanitize -- sh -c '$(SANITIZE_CMD)'

VALGRIND := valgrind --quiet --error-exitcode=99 --leak-check=full \
	--errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect
VALGRIND_CMD = for t in $(UNIT_BINS); do \
		if CMOCKA_MESSAGE_OUTPUT=TAP $(VALGRIND) --log-file=$$t.vg $$t > $$t.vg.out 2>&1; \
		then echo "ok - valgrind: $$(basename $$t) clean"; \
		else echo "not ok - valgrind: $$(basename $$t)"; sed "s/^/\#   /" $$t.vg | head -n 30; fi; \
	done; BIN_WRAPPER="$(VALGRIND)" tests/unit/test-cli.sh $(BUILD)
valgrind: deps-build $(UNIT_BINS) all
	@tests/run-tap.sh valgrind -- sh -c '$(VALGRIND_CMD)'

# ---- the lab --------------------------------------------------------------

# Which Debian kernel a flavour is, and where the cache keeps it.
# Asked every time (2 s when cached): the cache entry it names may have
# been deleted or replaced since; rewritten only when it changes, so what
# depends on it is rebuilt only then.
$(BUILD)/lab/%/kernel.env: tests/lab/fetch-kernel.sh tests/lab/make-buildroot.sh tests/lab/cache.sh \
		tests/lab/apt.sh tests/lab/build-kernel.sh tests/lab/kernel/fei.config \
		tests/lab/kernel/dyn.config FORCE
	@mkdir -p $(@D)
	@tests/lab/fetch-kernel.sh $* $@.new
	@if cmp -s $@.new $@; then rm -f $@.new; else mv $@.new $@; fi
FORCE:

kernels: $(KERNELS:%=$(BUILD)/lab/%/kernel.env)

$(BUILD)/lab/labio: tests/lab/tools/labio.c | $(BUILD)/lab
	$(CC) -static -O2 $(WARN) -o $@ $<

$(BUILD)/lab/labcaps: tests/lab/tools/labcaps.c | $(BUILD)/lab
	$(CC) -static -O2 $(WARN) -o $@ $<

# The benchmark's floor: one bare counting program on a chosen hook.
$(BUILD)/lab/labfloor.bpf.o: tests/lab/tools/labfloor.bpf.c $(VMLINUX_H) | $(BUILD)/lab
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@
	$(LLVM_STRIP) -g $@
$(BUILD)/lab/labfloor.skel.h: $(BUILD)/lab/labfloor.bpf.o
	$(BPFTOOL) gen skeleton $< name labfloor_bpf > $@
$(BUILD)/lab/labfloor: tests/lab/tools/labfloor.c $(BUILD)/lab/labfloor.skel.h
	$(CC) $(CFLAGS) $(WARN) -I$(BUILD)/lab -o $@ $< $(STATIC_LIBS)

# The test module, built per guest kernel (cached by its sources' hash).
$(BUILD)/lab/%/dmawatch_lab.ko: $(BUILD)/lab/%/kernel.env $(wildcard tests/lab/module/*) \
		tests/lab/build-module.sh
	tests/lab/build-module.sh $< $@

lab-module: $(KERNELS:%=$(BUILD)/lab/%/dmawatch_lab.ko)

$(BUILD)/lab/%/initramfs.gz: $(BUILD)/lab/%/kernel.env $(BUILD)/lab/%/dmawatch_lab.ko \
		$(BUILD)/static/dmawatch $(BUILD)/lab/labio $(BUILD)/lab/labcaps \
		$(BUILD)/lab/labfloor $(wildcard tests/lab/guest/*) tests/lab/mkinitramfs.sh
	tests/lab/mkinitramfs.sh $< $@ \
		$(BUILD)/static/dmawatch=usr/bin/dmawatch \
		$(BUILD)/lab/labio=usr/bin/labio \
		$(BUILD)/lab/labcaps=usr/bin/labcaps \
		$(BUILD)/lab/labfloor=usr/bin/labfloor \
		$(BUILD)/lab/$*/dmawatch_lab.ko=lab/dmawatch_lab.ko

initramfs: $(KERNELS:%=$(BUILD)/lab/%/initramfs.gz)
fei-initramfs: $(FEI_KERNEL:%=$(BUILD)/lab/%/initramfs.gz)
dyn-initramfs: $(DYN_KERNEL:%=$(BUILD)/lab/%/initramfs.gz)

lab-test: deps all initramfs
	@tests/lab/run-scenarios.sh $(BUILD) $(KERNELS)

lab: deps $(BUILD)/lab/$(KERNEL)/initramfs.gz
	tests/lab/run-guest.sh $(BUILD)/lab/$(KERNEL)/kernel.env $(BUILD)/lab/$(KERNEL)/initramfs.gz

demo: deps $(BUILD)/lab/$(KERNEL)/initramfs.gz
	tests/lab/demo.sh $(BUILD)/lab/$(KERNEL)/kernel.env $(BUILD)/lab/$(KERNEL)/initramfs.gz

top-keys: deps initramfs
	@for k in $(KERNELS); do \
		tests/lab/top-keys.sh $(BUILD)/lab/$$k/kernel.env $(BUILD)/lab/$$k/initramfs.gz $$k || exit 1; \
	done

# Crash soak: the tracefs/kprobe/dmawatch switching scenario booted
# SOAK_BOOTS times per kernel; prints crashes/boots (LAB_TCG_THREAD=multi
# for the multi-threaded TCG the lab used before).
SOAK_BOOTS ?= 30
lab-soak: deps initramfs
	@tests/lab/soak.sh $(BUILD) $(SOAK_BOOTS) $(KERNELS)

# The endurance run: RSS, open files, map bounds and counters of the
# exporter and dmatop -b over ENDURE_MINUTES of mixed traffic, per kernel.
ENDURE_MINUTES ?= 30
lab-endure: deps initramfs
	@tests/lab/endure.sh $(BUILD) $(ENDURE_MINUTES) $(KERNELS)

bench: deps initramfs
	@for k in $(KERNELS); do \
		tests/lab/bench.sh $(BUILD)/lab/$$k/kernel.env $(BUILD)/lab/$$k/initramfs.gz $$k || exit 1; \
	done

# The host-side Prometheus checks run last: they also scrape the .prom
# files the lab guests wrote.
# Host checks first (unit, sanitizers, memcheck, fuzzing), then the lab,
# the Prometheus tools, the package.
# The lab's own kernel builds in the background meanwhile (minutes on a
# fresh machine; tests/lab/background-make.sh), its scenarios run last.
# lint and unit first (in this order: make stops at the first that fails),
# so a style or unit failure shows in a minute, before the lab is set up.
test: lint unit deps all $(FUZZ_BINS) san-build initramfs deb
	@tests/lab/background-make.sh start $(BUILD)/lab/fei-build -C $(CURDIR) -s \
		BUILD=$(BUILD) FEI_KERNEL="$(FEI_KERNEL)" DYN_KERNEL="$(DYN_KERNEL)" \
		fei-initramfs dyn-initramfs
	@tests/run-tap.sh all -- sh -c '$(SANITIZE_CMD); $(VALGRIND_CMD); \
		$(FUZZ_CMD:$(FUZZ_SECONDS)=$(FUZZ_TEST_SECONDS)); \
		tests/lab/run-scenarios.sh $(BUILD) $(KERNELS); \
		tests/lab/background-make.sh wait $(BUILD)/lab/fei-build && \
		SCENARIOS="$(FEI_SCENARIOS)" tests/lab/run-scenarios.sh $(BUILD) $(FEI_KERNEL); \
		SCENARIOS="$(DYN_SCENARIOS)" tests/lab/run-scenarios.sh $(BUILD) $(DYN_KERNEL); \
		tests/prometheus/run.sh $(BUILD); \
		for k in $(PROM_KERNELS); do tests/prometheus/alerts.sh $(BUILD) $$k; done; \
		$(DEB_TEST)'

prometheus-test: deps all $(BUILD)/tests/prom-sample
	@tests/run-tap.sh prometheus -- tests/prometheus/run.sh $(BUILD)

# The alert rules firing and resolving in a real Prometheus that scrapes a
# lab guest (PROM_KERNELS).
prometheus-alerts: deps all initramfs
	@tests/run-tap.sh alerts -- sh -c 'for k in $(PROM_KERNELS); do \
		tests/prometheus/alerts.sh $(BUILD) $$k; done'

# ---- installing and shipping ----------------------------------------------

# GNU conventions: PREFIX, DESTDIR and the directory variables below.
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
UNITDIR ?= $(PREFIX)/lib/systemd/system
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
MANPAGES := $(wildcard docs/man/*.8)
PROM_FILES := docs/prometheus/README.md docs/prometheus/dmawatch-alerts.yml \
	docs/prometheus/dmawatch-alerts.test.yml docs/prometheus/dmawatch-dashboard.json

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(DATADIR)/dmawatch/prometheus $(DESTDIR)$(BASHCOMPDIR)
	install -m 0755 $(BUILD)/dmawatch $(DESTDIR)$(SBINDIR)/dmawatch
	ln -sf dmawatch $(DESTDIR)$(SBINDIR)/dmatop
	install -m 0644 $(MANPAGES) $(DESTDIR)$(MANDIR)/man8/
	sed 's|/usr/local/sbin/dmawatch|$(SBINDIR)/dmawatch|' docs/prometheus/dmawatch-export.service \
		> $(DESTDIR)$(UNITDIR)/dmawatch-export.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/dmawatch-export.service
	install -m 0644 $(PROM_FILES) $(DESTDIR)$(DATADIR)/dmawatch/prometheus/
	install -m 0644 contrib/dmawatch.bash-completion $(DESTDIR)$(BASHCOMPDIR)/dmawatch
	ln -sf dmawatch $(DESTDIR)$(BASHCOMPDIR)/dmatop

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/dmawatch $(DESTDIR)$(SBINDIR)/dmatop \
		$(MANPAGES:docs/man/%=$(DESTDIR)$(MANDIR)/man8/%) \
		$(DESTDIR)$(UNITDIR)/dmawatch-export.service \
		$(DESTDIR)$(BASHCOMPDIR)/dmawatch $(DESTDIR)$(BASHCOMPDIR)/dmatop
	rm -rf $(DESTDIR)$(DATADIR)/dmawatch

# The binary to copy into a guest where nothing can be installed: the lab's
# static build, stripped, with its checksum.
RELEASE := $(BUILD)/release
release: static
	rm -rf $(RELEASE) && mkdir -p $(RELEASE)
	strip -o $(RELEASE)/dmawatch-$(VERSION)-$(shell uname -m) $(BUILD)/static/dmawatch
	cd $(RELEASE) && sha256sum dmawatch-$(VERSION)-$(shell uname -m) > SHA256SUMS
	@$(RELEASE)/dmawatch-$(VERSION)-$(shell uname -m) --version
	@echo "release: $$(stat -c %s $(RELEASE)/dmawatch-$(VERSION)-$(shell uname -m)) bytes in $(RELEASE)/"

# The Debian package, built by Debian's tools from debian/ on a copy of the
# tree's files (what git tracks or would track, as they are now), into
# $(BUILD)/deb; lintian must find no error or warning.
DEB_DIR := $(BUILD)/deb
deb: deps-build deps-pkg
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/src
	git ls-files -z --cached --others --exclude-standard | \
		xargs -0 sh -c 'for f; do [ -e "$$f" ] && printf "%s\0" "$$f"; done' sh | \
		tar --null -T - -cf - | tar -x -C $(DEB_DIR)/src
	cd $(DEB_DIR)/src && DMAWATCH_VERSION=$(VERSION) dpkg-buildpackage -b -us -uc \
		> $(DEB_DIR)/build.log 2>&1 || { tail -n 40 $(DEB_DIR)/build.log; exit 1; }
	lintian --fail-on error,warning $(DEB_DIR)/dmawatch_*.changes | tee $(DEB_DIR)/lintian.log
	@ls -l $(DEB_DIR)/*.deb

# Installed and removed in a fresh Debian 12 root; its binary, with the
# libraries it loaded there, run in a KERNEL lab guest beside the static one.
DEB_TEST = tests/pkg/deb-test.sh $(BUILD) $$(ls $(DEB_DIR)/dmawatch_*.deb); \
	tests/pkg/deb-lab.sh $(BUILD) $(KERNEL)
deb-test: deb deps-lab static $(BUILD)/lab/labio $(BUILD)/lab/$(KERNEL)/kernel.env
	@tests/run-tap.sh deb -- sh -c '$(DEB_TEST)'

clean:
	rm -rf $(BUILD)

# The cache is shared by every clone and outside the tree: only a target
# that says so deletes it (never distclean, which packaging tools run).
distclean: clean

clean-cache:
	rm -rf $(CACHE)
