/* SPDX-License-Identifier: GPL-2.0 */
/* Names and numbers as every output prints them. */
#ifndef DMAWATCH_FMT_H
#define DMAWATCH_FMT_H

#include <stddef.h>

#include "family/dmawatch.h"

/* Names of enum dmaw_event_kind and enum dmaw_source, as trace and top print them. */
const char *event_kind_name(__u32 kind);
const char *event_source_name(__u32 source);

/* Human sizes: "512", "4.0K", "256K", "1.5M". */
void fmt_bytes(char *buf, size_t len, double bytes);
/* Sizes in at most 4 characters ("999", "1.5K", "256K", "12M"): dmatop's
 * columns are sized for them. */
void fmt_bytes4(char *buf, size_t len, double v);

#endif
