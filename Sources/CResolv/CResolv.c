#include "CResolv.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdlib.h>
#include <string.h>

int outrider_dns_query(const char *name, int type, const char *server, int port, unsigned char *answer, int length, int *failure) {
    struct __res_state state;
    memset(&state, 0, sizeof state);
    *failure = 0;
    if (res_ninit(&state) != 0) {
        *failure = -1;
        return -1;
    }
    if (server != NULL && strchr(server, ':') != NULL) {
        /* An IPv6 server does not fit nsaddr_list's sockaddr_in: glibc reads it from _u._ext.nsaddrs[n] when
           nsaddr_list[n].sin_family is 0 (resolv/res-nameserver.c, __res_get_nsaddr), and res_nclose frees
           what nsaddrs holds, so the address is allocated here and handed over. */
        struct sockaddr_in6 *address = calloc(1, sizeof *address);
        if (address == NULL) {
            res_nclose(&state);
            *failure = -1;
            return -1;
        }
        address->sin6_family = AF_INET6;
        address->sin6_port = htons((unsigned short)port);
        if (inet_pton(AF_INET6, server, &address->sin6_addr) != 1) {
            free(address);
            res_nclose(&state);
            *failure = -1;
            return -1;
        }
        free(state._u._ext.nsaddrs[0]);
        state._u._ext.nsaddrs[0] = address;
        memset(&state.nsaddr_list[0], 0, sizeof state.nsaddr_list[0]);
        state.nscount = 1;
        /* res_send copies nsaddr_list into nsaddrs again when this count is 0, skipping entries whose family is 0. */
        state._u._ext.nscount = 0;
        state.retry = 2;
        state.retrans = 2;
    } else if (server != NULL) {
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
        state._u._ext.nscount = 0;
        state.retry = 2;
        state.retrans = 2;
    }
    int count = res_nquery(&state, name, ns_c_in, type, answer, length);
    if (count < 0) *failure = state.res_h_errno;
    res_nclose(&state);
    return count;
}
