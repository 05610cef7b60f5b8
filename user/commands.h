/* SPDX-License-Identifier: GPL-2.0 */
/* The subcommands: each lives in its own user/<name>.c with its own help. */
#ifndef DMAWATCH_COMMANDS_H
#define DMAWATCH_COMMANDS_H

struct command {
	const char *name;
	int (*run)(int argc, char **argv); /* argv[0] is the command name */
	const char *summary;
};

int cmd_probe(int argc, char **argv);

#endif
