// Stopping a run by signal: SIGINT (Ctrl-C), SIGTERM (kill, docker stop, Slurm, systemd) and
// SIGHUP (terminal closed) all ask training to stop after the current step and save. Signals
// arriving within a second of the first are the same request (a terminal delivers Ctrl-C to
// `timeout` and to mlpc at once); only a signal after that, while saving, abandons the save.
// The exit status is 128 + the first signal's number (130, 143, 129), as shells expect.

import Foundation
import Glibc
import Synchronization

enum StopRequest {
  /// The first signal received, 0 for none.
  static let signal = Atomic<Int32>(0)
  /// When it came, in monotonic nanoseconds.
  static let at = Atomic<Int>(0)
  /// Set while the run directory is being written.
  static let saving = Atomic<Bool>(false)
  /// Signals within this many nanoseconds of the first are the same request.
  static let window = 1_000_000_000

  static var requested: Bool { signal.load(ordering: .relaxed) != 0 }
  static var exitStatus: Int32 { 128 + signal.load(ordering: .relaxed) }

  static func install() {
    // A parent may have blocked these signals (spawned processes inherit the mask).
    var set = sigset_t()
    sigemptyset(&set)
    for s in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&set, s) }
    pthread_sigmask(SIG_UNBLOCK, &set, nil)
    for s in [SIGINT, SIGTERM, SIGHUP] {
      Glibc.signal(s) { received in
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        let now = t.tv_sec * 1_000_000_000 + t.tv_nsec
        if StopRequest.signal.compareExchange(
          expected: 0, desired: received, ordering: .relaxed
        ).exchanged {
          StopRequest.at.store(now, ordering: .relaxed)
        } else if StopRequest.saving.load(ordering: .relaxed),
          now - StopRequest.at.load(ordering: .relaxed) > StopRequest.window
        {
          _exit(128 + StopRequest.signal.load(ordering: .relaxed))
        }
      }
    }
  }
}
