# dmawatch — see README.md. `make help` lists the targets.

ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
CLANG ?= clang
BPFTOOL ?= bpftool
LLVM_STRIP ?= llvm-strip
CC ?= cc
# Downloads (guest kernels, apt lists) are kept here between runs; the build
# output goes to BUILD. Both are the build's own and safe to delete.
CACHE ?= $(CURDIR)/.cache
BUILD ?= $(CURDIR)/build
# Guest kernels of the lab: Debian 6.1 (bookworm) and 6.12 (backports).
KERNELS ?= 6.1 6.12
KERNEL ?= 6.12

VMLINUX_H := vmlinux/$(ARCH)/vmlinux.h
VMLINUX_FROM ?= 6.12

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/bpf/%.bpf.o)
SKELS := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/bpf/%.skel.h)
USER_SRCS := $(wildcard user/*.c)
# Everything but main.c also links into the unit tests.
LIB_SRCS := $(filter-out user/main.c,$(USER_SRCS))
USER_OBJS := $(USER_SRCS:user/%.c=$(BUILD)/user/%.o)
LIB_OBJS := $(LIB_SRCS:user/%.c=$(BUILD)/user/%.o)
STATIC_OBJS := $(USER_SRCS:user/%.c=$(BUILD)/static/%.o)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
WARN := -Wall -Wextra -Werror
CFLAGS ?= -g -O2
ALL_CFLAGS := $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE -Iinclude -I$(BUILD)/bpf \
	-DDMAWATCH_VERSION='"$(VERSION)"'
LIBS := -lbpf -lelf -lz -lncursesw -ltinfo
STATIC_LIBS := -static -lbpf -lelf -lz -lzstd -lncursesw -ltinfo
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	-Iinclude -Ivmlinux/$(ARCH)

.PHONY: all static deps kernels lab-module initramfs test unit lab-test lab demo \
	bench vmlinux-h clean distclean help prometheus-test top-keys
.DELETE_ON_ERROR:

all: $(BUILD)/dmawatch $(BUILD)/dmatop

help:
	@echo 'make            build dmawatch and dmatop into $(BUILD)/'
	@echo 'make deps       install the Debian packages the project needs'
	@echo 'make test       unit tests, then the lab scenarios on $(KERNELS)'
	@echo 'make unit       unit tests only (no kernel needed)'
	@echo 'make demo       boot a lab guest with bounce traffic under dmatop'
	@echo 'make lab        a shell in a bouncing lab guest (KERNEL=$(KERNEL))'
	@echo 'make top-keys   drive dmatop in a lab guest through its console under tmux'
	@echo 'make bench      probe overhead benchmark in the lab'
	@echo 'make prometheus-test  promtool, alert-rule tests, node_exporter on loopback'
	@echo 'make vmlinux-h  regenerate $(VMLINUX_H) from the $(VMLINUX_FROM) guest kernel'

# ---- packages -------------------------------------------------------------

DEB_PACKAGES := make gcc libc6-dev clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev \
	libzstd-dev pkg-config libncurses-dev libcmocka-dev qemu-system-x86 \
	qemu-utils busybox-static cpio kmod xz-utils zstd gzip file \
	dwarves debian-archive-keyring apt ca-certificates prometheus \
	prometheus-node-exporter tmux jq curl

# Only calls apt-get when something is missing, so it is cheap to depend on.
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do \
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

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(wildcard include/*.h) $(VMLINUX_H) | $(BUILD)/bpf
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@
	$(LLVM_STRIP) -g $@

.SECONDARY: $(BPF_OBJS)
$(BUILD)/bpf/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

$(BUILD)/user/%.o: user/%.c $(wildcard include/*.h user/*.h) $(SKELS) | $(BUILD)/user
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/static/%.o: user/%.c $(wildcard include/*.h user/*.h) $(SKELS) | $(BUILD)/static
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/dmawatch: $(USER_OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/dmatop: $(BUILD)/dmawatch
	ln -sf dmawatch $@

# The lab guests have no libraries: they get a static build of the same code.
static: $(BUILD)/static/dmawatch
$(BUILD)/static/dmawatch: $(STATIC_OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(STATIC_LIBS)

$(BUILD)/bpf $(BUILD)/user $(BUILD)/static $(BUILD)/tests $(BUILD)/lab:
	mkdir -p $@

vmlinux-h: $(CACHE)/kernels/$(VMLINUX_FROM)/kernel.env
	. $< && vmlinux/gen-vmlinux-h.sh "$$VMLINUZ" "$$IMAGE_PACKAGE=$$PKG_VERSION" $(VMLINUX_H)

# ---- unit tests -----------------------------------------------------------

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS) | $(BUILD)/tests
	$(CC) $(ALL_CFLAGS) -Iuser -o $@ $^ -lcmocka $(LIBS)

unit: deps $(UNIT_BINS)
	@tests/run-tap.sh unit $(UNIT_BINS)

# ---- the lab --------------------------------------------------------------

$(CACHE)/kernels/%/kernel.env:
	tests/lab/fetch-kernel.sh $(CACHE) $*

kernels: $(KERNELS:%=$(CACHE)/kernels/%/kernel.env)

$(BUILD)/lab/labio: tests/lab/tools/labio.c | $(BUILD)/lab
	$(CC) -static -O2 $(WARN) -o $@ $<

# The test module is built per guest kernel, out of tree, in a copy of its
# sources (Kbuild writes its objects next to them).
$(BUILD)/lab/%/dmawatch_lab.ko: $(CACHE)/kernels/%/kernel.env $(wildcard tests/lab/module/*)
	rm -rf $(@D)/module && mkdir -p $(@D)/module
	cp tests/lab/module/Kbuild tests/lab/module/*.c $(@D)/module/
	. $< && $(MAKE) -s -C "$$KDIR" M=$(abspath $(@D)/module) modules
	cp $(@D)/module/dmawatch_lab.ko $@

lab-module: $(KERNELS:%=$(BUILD)/lab/%/dmawatch_lab.ko)

$(BUILD)/lab/%/initramfs.gz: $(CACHE)/kernels/%/kernel.env $(BUILD)/lab/%/dmawatch_lab.ko \
		$(BUILD)/static/dmawatch $(BUILD)/lab/labio $(wildcard tests/lab/guest/*) \
		tests/lab/mkinitramfs.sh
	tests/lab/mkinitramfs.sh $< $@ \
		$(BUILD)/static/dmawatch=usr/bin/dmawatch \
		$(BUILD)/lab/labio=usr/bin/labio \
		$(BUILD)/lab/$*/dmawatch_lab.ko=lab/dmawatch_lab.ko

initramfs: $(KERNELS:%=$(BUILD)/lab/%/initramfs.gz)

lab-test: deps all initramfs
	@tests/lab/run-scenarios.sh $(BUILD) $(CACHE) $(KERNELS)

lab: deps $(BUILD)/lab/$(KERNEL)/initramfs.gz
	tests/lab/run-guest.sh $(CACHE)/kernels/$(KERNEL)/kernel.env $(BUILD)/lab/$(KERNEL)/initramfs.gz

demo: deps $(BUILD)/lab/$(KERNEL)/initramfs.gz
	tests/lab/demo.sh $(CACHE)/kernels/$(KERNEL)/kernel.env $(BUILD)/lab/$(KERNEL)/initramfs.gz

top-keys: deps initramfs
	@for k in $(KERNELS); do \
		tests/lab/top-keys.sh $(CACHE)/kernels/$$k/kernel.env $(BUILD)/lab/$$k/initramfs.gz $$k || exit 1; \
	done

bench: deps initramfs
	@for k in $(KERNELS); do \
		tests/lab/bench.sh $(CACHE)/kernels/$$k/kernel.env $(BUILD)/lab/$$k/initramfs.gz $$k || exit 1; \
	done

# The host-side Prometheus checks run last: they also scrape the .prom
# files the lab guests wrote.
test: deps all $(UNIT_BINS) initramfs
	@tests/run-tap.sh all $(UNIT_BINS) -- sh -c 'tests/lab/run-scenarios.sh $(BUILD) $(CACHE) $(KERNELS); tests/prometheus/run.sh $(BUILD)'

prometheus-test: deps all
	@tests/run-tap.sh prometheus -- tests/prometheus/run.sh $(BUILD)

clean:
	rm -rf $(BUILD)

distclean: clean
	rm -rf $(CACHE)
