// A few MPI calls with plain C types: MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM) are
// macros over implementation-specific globals that Swift cannot import, so they stay in C.
#ifndef MLPC_MPI_H
#define MLPC_MPI_H

#include <stddef.h>

/// MPI_Init_thread (funnelled: only the main thread calls MPI); 0 on success. Errors return
/// codes instead of aborting, and each call's result is checked.
int mlpc_mpi_init(void);
int mlpc_mpi_rank(void);
int mlpc_mpi_size(void);
/// In-place sums over all ranks.
int mlpc_mpi_allreduce_sum_float(float *values, size_t count);
int mlpc_mpi_allreduce_sum_double(double *values, size_t count);
int mlpc_mpi_allreduce_max_double(double *values, size_t count);
/// Non-blocking in-place float sum; `mlpc_mpi_wait` completes it. One request at a time per
/// slot (0..7).
int mlpc_mpi_iallreduce_sum_float(float *values, size_t count, int slot);
int mlpc_mpi_wait(int slot);
/// Root's bytes to every rank (the length first).
int mlpc_mpi_broadcast(void *bytes, size_t count, int root);
int mlpc_mpi_barrier(void);
/// The text of an MPI error code.
void mlpc_mpi_error_string(int code, char *text, int capacity);
void mlpc_mpi_abort(int code);
int mlpc_mpi_finalize(void);

#endif
