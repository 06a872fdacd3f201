// The system OpenBLAS (Debian: libopenblas-dev), used only with the OpenBLAS package trait.
#include <cblas.h>
