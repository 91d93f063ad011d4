/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test helper: a process that has libpython mapped but never initializes
 * it, like a program caught before Py_Initialize.  Usage: uninit_host
 * LIBPYTHON.  Prints READY, then sleeps until killed (at most 300 s).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 2 || !dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL)) {
		fprintf(stderr, "uninit_host: cannot load %s: %s\n",
			argc > 1 ? argv[1] : "(none)", dlerror());
		return 1;
	}
	printf("READY\n");
	fflush(stdout);
	for (int i = 0; i < 300; i++)
		sleep(1);
	return 0;
}
