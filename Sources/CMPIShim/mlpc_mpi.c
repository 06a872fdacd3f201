#include "mlpc_mpi.h"

// Without the MPI trait this file is empty (the Swift side does not call it then).
#ifdef MLPC_WITH_MPI

#include <limits.h>
#include <mpi.h>

static MPI_Request requests[8];

int mlpc_mpi_init(void) {
  int provided = 0;
  int status = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
  if (status != MPI_SUCCESS) return status;
  // A failed call returns its code to mlpc, which reports it and ends every rank.
  return MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
}

int mlpc_mpi_rank(void) {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

int mlpc_mpi_size(void) {
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

/* In place over all ranks; counts above INT_MAX go in pieces (MPI counts are int). */
static int allreduce(void *values, size_t count, MPI_Datatype type, size_t size, MPI_Op op) {
  char *p = values;
  for (size_t done = 0; done < count;) {
    size_t part = count - done;
    if (part > INT_MAX) part = INT_MAX;
    int status = MPI_Allreduce(MPI_IN_PLACE, p + done * size, (int)part, type, op, MPI_COMM_WORLD);
    if (status != MPI_SUCCESS) return status;
    done += part;
  }
  return MPI_SUCCESS;
}

int mlpc_mpi_allreduce_sum_float(float *values, size_t count) {
  return allreduce(values, count, MPI_FLOAT, sizeof(float), MPI_SUM);
}

int mlpc_mpi_allreduce_sum_double(double *values, size_t count) {
  return allreduce(values, count, MPI_DOUBLE, sizeof(double), MPI_SUM);
}

int mlpc_mpi_allreduce_max_double(double *values, size_t count) {
  return allreduce(values, count, MPI_DOUBLE, sizeof(double), MPI_MAX);
}

int mlpc_mpi_iallreduce_sum_float(float *values, size_t count, int slot) {
  if (count > INT_MAX || slot < 0 || slot >= 8) return MPI_ERR_COUNT;
  return MPI_Iallreduce(
      MPI_IN_PLACE, values, (int)count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &requests[slot]);
}

int mlpc_mpi_wait(int slot) {
  if (slot < 0 || slot >= 8) return MPI_ERR_REQUEST;
  return MPI_Wait(&requests[slot], MPI_STATUS_IGNORE);
}

int mlpc_mpi_broadcast(void *bytes, size_t count, int root) {
  char *p = bytes;
  for (size_t done = 0; done < count;) {
    size_t part = count - done;
    if (part > INT_MAX) part = INT_MAX;
    int status = MPI_Bcast(p + done, (int)part, MPI_BYTE, root, MPI_COMM_WORLD);
    if (status != MPI_SUCCESS) return status;
    done += part;
  }
  return MPI_SUCCESS;
}

int mlpc_mpi_barrier(void) { return MPI_Barrier(MPI_COMM_WORLD); }

void mlpc_mpi_error_string(int code, char *text, int capacity) {
  int length = 0;
  if (capacity < MPI_MAX_ERROR_STRING) {
    char buffer[MPI_MAX_ERROR_STRING];
    MPI_Error_string(code, buffer, &length);
    int n = length < capacity - 1 ? length : capacity - 1;
    for (int i = 0; i < n; i++) text[i] = buffer[i];
    text[n] = 0;
    return;
  }
  MPI_Error_string(code, text, &length);
  text[length] = 0;
}

void mlpc_mpi_abort(int code) { MPI_Abort(MPI_COMM_WORLD, code); }

int mlpc_mpi_finalize(void) { return MPI_Finalize(); }

#endif
