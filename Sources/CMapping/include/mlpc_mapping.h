// A file mapped into memory that shrinks while it is read (truncated by another program) makes
// the next access past its new end raise SIGBUS, which would kill mlpc. A guarded mapping turns
// that into a flag: the faulting page is replaced by a page of zeros, reading goes on, and the
// reader checks the flag and reports that the file changed. Faults outside guarded mappings go to
// the handler that was there before (the Swift runtime's backtracer, a sanitizer) or kill as
// before.
#ifndef MLPC_MAPPING_H
#define MLPC_MAPPING_H

#include <stddef.h>

/// Guards `length` bytes at `base`; returns a slot for the calls below, or -1 when all slots are
/// taken (the mapping is then read unguarded).
int mlpc_guard_mapping(const void *base, size_t length);

/// Whether an access to the mapping of `slot` found the file shorter than when it was mapped.
int mlpc_mapping_faulted(int slot);

/// Stops guarding `slot` (before the mapping is unmapped).
void mlpc_unguard_mapping(int slot);

#endif
