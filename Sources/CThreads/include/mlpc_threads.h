// Thread placement for the worker pool (Linux): which CPU the calling thread is on, which CPUs
// the process may use, and keeping a thread to some of them. Elsewhere these report failure.
#ifndef MLPC_THREADS_H
#define MLPC_THREADS_H

#include <pthread.h>

/// The CPU the calling thread is running on, or -1.
int mlpc_current_cpu(void);

/// Writes the CPUs the calling thread may run on (at most `max`) to `cpus`; returns how many,
/// or -1.
int mlpc_allowed_cpus(int *cpus, int max);

/// Lets `thread` run only on the `count` CPUs in `cpus`; returns 0, or an error number.
int mlpc_set_thread_cpus(pthread_t thread, const int *cpus, int count);

/// The calling thread's kernel id, or -1.
int mlpc_thread_id(void);

/// Nanoseconds thread `tid` of this process has run and has waited, runnable, for a CPU
/// (/proc/self/task/TID/schedstat); returns 0, or -1 when unknown.
int mlpc_thread_times(int tid, long long *run, long long *wait);
/// Clock ticks each CPU has spent busy (anything but idle and waiting for I/O) and in all since
/// boot (/proc/stat), written at the CPU's number for CPUs below `max` (others untouched);
/// returns 0, or -1 when unknown.
int mlpc_cpu_ticks(long long *busy, long long *total, int max);

#endif
