// SPDX-License-Identifier: GPL-2.0
/* The family table: every family of families.h, in its order. */
#include "family/family.h"

#define FAMILY(name) extern const struct family name##_family;
#include "family/families.h"
#undef FAMILY

const struct family *const family_table[FAMILY_IDS] = {
#define FAMILY(name) [FAMILY_ID_##name] = &name##_family,
#include "family/families.h"
#undef FAMILY
};
