/* test_sock.c — net/sock.c's listener and accept: a connection serverM accepts is
 * non-blocking, close-on-exec and has TCP_NODELAY, which it gets from its listener (Linux
 * copies the option into accepted sockets; sock_accept no longer sets it per connection). */
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "sock.h"

TEST(test_accepted_connection_options) {
    char err[256] = "";
    int l = -1;
    CHECK_EQ(sock_tcp_listen(err, "127.0.0.1", 0, &l), 0);
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    CHECK_EQ(getsockname(l, (struct sockaddr *)&a, &alen), 0);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(c >= 0);
    CHECK_EQ(connect(c, (struct sockaddr *)&a, sizeof a), 0);
    int fd = -1;
    for (int tries = 0; tries < 1000 && fd < 0; tries++) {
        CHECK_EQ(sock_accept(err, l, &fd), 0);
        if (fd < 0) usleep(1000);
    }
    CHECK(fd >= 0);
    if (fd >= 0) {
        int v = 0;
        socklen_t vlen = sizeof v;
        CHECK_EQ(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &vlen), 0);
        CHECK(v != 0);
        CHECK((fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
        CHECK((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
        close(fd);
    }
    close(c);
    close(l);
}

int main(void) {
    RUN(test_accepted_connection_options);
    return CHECK_DONE();
}
