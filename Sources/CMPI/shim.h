// The system MPI (Debian: libopenmpi-dev), used only with the MPI package trait.
#include <mpi.h>
