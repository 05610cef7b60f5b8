/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The probe families, one line each, in load order. Included by the engine
 * with FAMILY(name) defined: a family is its three files plus its line here.
 */
FAMILY(swiotlb)
FAMILY(dmamap)
FAMILY(virtqueue)
FAMILY(pool)
FAMILY(requeue)
FAMILY(enforce)
