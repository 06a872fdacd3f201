#define _GNU_SOURCE
#include "mlpc_threads.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int mlpc_cpu_ticks(long long *busy, long long *total, int max) {
#ifdef __linux__
  FILE *file = fopen("/proc/stat", "re");
  if (!file) return -1;
  char line[512];
  int found = -1;
  while (fgets(line, sizeof line, file)) {
    if (strncmp(line, "cpu", 3) != 0) break;  // the cpu lines come first
    if (line[3] < '0' || line[3] > '9') continue;  // the sum over all CPUs
    int cpu;
    int used;
    if (sscanf(line + 3, "%d%n", &cpu, &used) != 1 || cpu < 0 || cpu >= max) continue;
    // user nice system idle iowait irq softirq steal
    long long field[8] = {0};
    int count = sscanf(line + 3 + used, "%lld %lld %lld %lld %lld %lld %lld %lld", &field[0],
                       &field[1], &field[2], &field[3], &field[4], &field[5], &field[6],
                       &field[7]);
    if (count < 4) continue;
    long long sum = 0;
    for (int i = 0; i < count; i++) sum += field[i];
    total[cpu] = sum;
    busy[cpu] = sum - field[3] - (count > 4 ? field[4] : 0);
    found = 0;
  }
  fclose(file);
  return found;
#else
  (void)busy;
  (void)total;
  (void)max;
  return -1;
#endif
}
