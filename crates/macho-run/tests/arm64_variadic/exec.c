/* execl and execle take argv (and envp) as a NULL-terminated argument
 * list; syslog formats its message (LOG_PERROR copies it to stderr). */
#include <stdio.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

int main(void) {
    openlog("exec", LOG_PERROR, LOG_USER);
    syslog(LOG_ERR, "syslog: %d %s %.1f", 7, "args", 1.5);
    closelog();
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char *envp[] = {"ONLY=this", NULL};
        execle("/bin/sh", "sh", "-c", "echo execle: $0 $1 $ONLY", "a0", "a1",
               (char *)NULL, envp);
        _exit(99);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("child: %d\n", WEXITSTATUS(status));
    fflush(stdout);
    execl("/bin/echo", "echo", "execl:", "one", "two", "three", "four", "five",
          "six", "seven", "eight", "nine", (char *)NULL);
    return 1;
}
