#!/bin/sh
# Background bounce traffic for `make lab` and `make demo`: O_DIRECT writes
# and reads of mixed sizes on the virtio disk, forever.
while :; do
	labio write /dev/vda $((8 << 20)) 1048576 > /dev/null
	labio read /dev/vda $((8 << 20)) 65536 > /dev/null
	dd if=/dev/vda of=/dev/null bs=4k count=512 iflag=direct 2> /dev/null
	sleep 1
done
