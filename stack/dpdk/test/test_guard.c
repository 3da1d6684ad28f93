/* SPDX-License-Identifier: MIT */
/*
 * test_guard.c - guard.c, the memif burst guard: a fault inside an armed section comes back
 * to its sigsetjmp, a fault outside one still kills the process (or reaches whatever handler
 * was there before, AddressSanitizer's under build-asan), and removing the guard restores
 * the handlers it replaced. A page mapped PROT_NONE stands in for memif's unmapped rings.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../dpdk_pvt.h"
#include "test.h"

static volatile char *no_access_page(void)
{
	void *p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static int test_fault_in_armed_section_returns(void)
{
	volatile char *page = no_access_page();
	volatile int jumped = 0, reached = 0;
	sigjmp_buf jb;
	int round;

	EXPECT_TRUE(page != NULL);
	EXPECT_EQ_INT(dpk_guard_install(), 0);
	for (round = 0; round < 3; round++) {	/* the handler stays usable after a jump */
		if (sigsetjmp(jb, 0) == 0) {
			dpk_guard_arm(&jb);
			(void)page[0];
			reached++;
		} else {
			jumped++;
		}
		dpk_guard_disarm();
	}
	dpk_guard_remove();
	munmap((void *)page, 4096);
	EXPECT_EQ_INT(jumped, 3);
	EXPECT_EQ_INT(reached, 0);
	return 0;
}

static int test_fault_outside_armed_section_still_kills(void)
{
	volatile char *page = no_access_page();
	int status;
	pid_t pid;

	EXPECT_TRUE(page != NULL);
	pid = fork();
	EXPECT_TRUE(pid >= 0);
	if (pid == 0) {
		if (dpk_guard_install() != 0)
			_exit(3);
		(void)page[0];		/* not armed: must not come back */
		_exit(0);
	}
	EXPECT_EQ_INT(waitpid(pid, &status, 0), pid);
	/* killed by SIGSEGV, or ended by AddressSanitizer's report: never a normal return */
	EXPECT_TRUE(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0));
	if (WIFSIGNALED(status))
		EXPECT_EQ_INT(WTERMSIG(status), SIGSEGV);
	else
		EXPECT_TRUE(WEXITSTATUS(status) != 3);
	munmap((void *)page, 4096);
	return 0;
}

static void marker(int sig)
{
	(void)sig;
}

static int test_remove_restores_previous_handlers(void)
{
	struct sigaction sa = { .sa_handler = marker }, now, old_segv, old_bus;

	sigemptyset(&sa.sa_mask);
	EXPECT_EQ_INT(sigaction(SIGSEGV, &sa, &old_segv), 0);
	EXPECT_EQ_INT(sigaction(SIGBUS, &sa, &old_bus), 0);
	EXPECT_EQ_INT(dpk_guard_install(), 0);
	EXPECT_EQ_INT(sigaction(SIGSEGV, NULL, &now), 0);
	EXPECT_TRUE(now.sa_handler != marker);
	dpk_guard_remove();
	EXPECT_EQ_INT(sigaction(SIGSEGV, NULL, &now), 0);
	EXPECT_TRUE(now.sa_handler == marker);
	EXPECT_EQ_INT(sigaction(SIGBUS, NULL, &now), 0);
	EXPECT_TRUE(now.sa_handler == marker);
	sigaction(SIGSEGV, &old_segv, NULL);
	sigaction(SIGBUS, &old_bus, NULL);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct hx_test tests[] = {
		{ "fault_in_armed_section_returns", test_fault_in_armed_section_returns },
		{ "fault_outside_armed_section_still_kills",
		  test_fault_outside_armed_section_still_kills },
		{ "remove_restores_previous_handlers", test_remove_restores_previous_handlers },
	};

	return hx_test_main(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
}
