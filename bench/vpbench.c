/* create + chown + stat, N times: the packaging workload of virtual
 * permissions (bench/vperm). Usage: vpbench DIR N */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int n = atoi(argv[2]);
    char p[4096];
    struct stat st;
    for (int i = 0; i < n; i++) {
        snprintf(p, sizeof p, "%s/f%d", argv[1], i);
        int fd = open(p, O_CREAT | O_WRONLY, 0644);
        if (fd < 0) { perror(p); return 1; }
        close(fd);
        if (chown(p, 1000 + i % 7, 2000 + i % 5) != 0) { perror("chown"); return 1; }
        if (stat(p, &st) != 0 || st.st_uid != (uid_t)(1000 + i % 7)) {
            fprintf(stderr, "%s: owner %u, not %d\n", p, st.st_uid, 1000 + i % 7);
            return 1;
        }
    }
    return 0;
}
