# shellcheck shell=sh
# Pool too small (guest/pool-small.sh), swiotlb=512,force.
expect_eq "pool is 512 slots" "$(r nslabs)" 512
expect_eq "1 MiB O_DIRECT write still blocked after $(r waited_s) s" "$(r writer_state)" D
expect_ge "kernel failed the request again and again (buffer is full lines)" "$(r full_lines)" 3
expect_match "full line names the virtio disk and the 512-slot pool" "$(r full_line)" \
	"$(r vda_dma_dev): swiotlb buffer is full \(sz: [0-9]+ bytes\), total 512 \(slots\)"
