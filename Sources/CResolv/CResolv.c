#include "CResolv.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <resolv.h>
#include <string.h>

int outrider_dns_query(const char *name, int type, const char *server, int port, unsigned char *answer, int length, int *failure) {
    struct __res_state state;
    memset(&state, 0, sizeof state);
    *failure = 0;
    if (res_ninit(&state) != 0) {
        *failure = -1;
        return -1;
    }
    if (server != NULL) {
        struct sockaddr_in address;
        memset(&address, 0, sizeof address);
        address.sin_family = AF_INET;
        address.sin_port = htons((unsigned short)port);
        if (inet_pton(AF_INET, server, &address.sin_addr) != 1) {
            res_nclose(&state);
            *failure = -1;
            return -1;
        }
        state.nsaddr_list[0] = address;
        state.nscount = 1;
        state.retry = 2;
        state.retrans = 2;
    }
    int count = res_nquery(&state, name, ns_c_in, type, answer, length);
    if (count < 0) *failure = state.res_h_errno;
    res_nclose(&state);
    return count;
}
