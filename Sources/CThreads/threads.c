#define _GNU_SOURCE
#include "mlpc_threads.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/syscall.h>
#endif

int mlpc_current_cpu(void) {
#ifdef __linux__
  return sched_getcpu();
#else
  return -1;
#endif
}

int mlpc_allowed_cpus(int *cpus, int max) {
#ifdef __linux__
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return -1;
  int count = 0;
  for (int cpu = 0; cpu < CPU_SETSIZE && count < max; cpu++) {
    if (CPU_ISSET(cpu, &set)) cpus[count++] = cpu;
  }
  return count;
#else
  (void)cpus;
  (void)max;
  return -1;
#endif
}

int mlpc_set_thread_cpus(pthread_t thread, const int *cpus, int count) {
#ifdef __linux__
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int i = 0; i < count; i++) {
    if (cpus[i] < 0 || cpus[i] >= CPU_SETSIZE) return EINVAL;
    CPU_SET(cpus[i], &set);
  }
  return pthread_setaffinity_np(thread, sizeof set, &set);
#else
  (void)thread;
  (void)cpus;
  (void)count;
  return ENOSYS;
#endif
}

int mlpc_thread_id(void) {
#ifdef __linux__
  return (int)syscall(SYS_gettid);
#else
  return -1;
#endif
}

int mlpc_thread_times(int tid, long long *run, long long *wait) {
#ifdef __linux__
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%d/schedstat", tid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char text[128];
  ssize_t n = read(fd, text, sizeof text - 1);
  close(fd);
  if (n <= 0) return -1;
  text[n] = 0;
  char *end;
  *run = strtoll(text, &end, 10);
  if (end == text) return -1;
  char *next = end;
  *wait = strtoll(next, &end, 10);
  return end == next ? -1 : 0;
#else
  (void)tid;
  (void)run;
  (void)wait;
  return -1;
#endif
}
