#ifndef OUTRIDER_CRESOLV_H
#define OUTRIDER_CRESOLV_H

/// One DNS query of class IN through the C library's resolver (libresolv's res_nquery, RFC 1035), with a resolver
/// state of its own, so that concurrent calls share nothing. With `server` (an IPv4 or IPv6 literal, without brackets) and `port`, only that
/// server is asked instead of those of /etc/resolv.conf (Consul's DNS on 8600, a test's server on loopback).
/// Returns the answer's length in `answer` (at most `length` bytes), or -1 with no answer (h_errno's reason in
/// `*failure`: 1 HOST_NOT_FOUND, 2 TRY_AGAIN, 3 NO_RECOVERY, 4 NO_DATA, or -1 when the state could not be set up).
int outrider_dns_query(const char *name, int type, const char *server, int port, unsigned char *answer, int length, int *failure);

#endif
