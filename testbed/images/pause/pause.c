/*
 * The pod sandbox's first process: holds the pod's namespaces open and does
 * nothing else. As PID 1 of a shared PID namespace it inherits orphans, so it
 * reaps every child that exits; SIGINT or SIGTERM ends it with status 0.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig) { stop_signal = sig; }

static void on_child(int sig) {
  (void)sig;
  int saved = errno;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
  errno = saved;
}

static void handle(int sig, void (*fn)(int), int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = fn;
  sa.sa_flags = flags;
  sigemptyset(&sa.sa_mask);
  if (sigaction(sig, &sa, NULL) != 0) {
    perror("pause: sigaction");
    _exit(1);
  }
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "-v") == 0) {
    puts("pause (rotor testbed) 3.10.1");
    return 0;
  }
  if (getpid() != 1) fputs("pause: warning: not the first process of its PID namespace\n", stderr);
  handle(SIGINT, on_stop, 0);
  handle(SIGTERM, on_stop, 0);
  handle(SIGCHLD, on_child, SA_NOCLDSTOP | SA_RESTART);
  /* Check the flag with the signals blocked, then wait for any of them atomically. */
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGCHLD);
  sigprocmask(SIG_BLOCK, &block, &old);
  while (!stop_signal) sigsuspend(&old);
  fprintf(stderr, "pause: shutting down on signal %d\n", (int)stop_signal);
  return 0;
}
