/* getaddrinfo through the C library's own resolver: prints each address
 * or the error. */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

int
main(int argc, char **argv)
{
	struct addrinfo hints, *res, *ai;
	char buf[64];
	int e;

	if (argc != 2)
		return 2;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	if ((e = getaddrinfo(argv[1], "80", &hints, &res)) != 0) {
		printf("error %s\n", gai_strerror(e));
		return 1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr,
		    buf, sizeof(buf));
		printf("%s\n", buf);
	}
	freeaddrinfo(res);
	return 0;
}
